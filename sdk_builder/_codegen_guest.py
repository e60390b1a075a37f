"""Generates the guest module (plain stdlib Python for CPython-in-WASM) and its shared runtime module."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sdk_builder._model import Operation, PaginationStyle, ParamLocation, SdkSpec, ValueEncoding
from sdk_builder._pysrc import clean_text, docstring, identifier, literal
from sdk_builder._version import BUILDER_VERSION

#: Module names of the generated guest files.
ENTRY_MODULE = "guest"
RUNTIME_MODULE = "_erp_runtime"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_PATH_HELPER = {
    ValueEncoding.SEGMENT: "seg",
    ValueEncoding.ODATA_BARE: "bare",
    ValueEncoding.ODATA_QUOTED: "quoted",
}


def runtime_source() -> str:
    """The runtime module's source, identical for every SDK of this builder version."""
    return Path(__file__).with_name("_guest_runtime.py").read_text(encoding="utf-8")


def describe_json(spec: SdkSpec) -> str:
    """The describe() document: name, version, operations with their parameters, entities with kinds."""
    operations = []
    for op in spec.operations:
        operations.append({
            "name": op.id,
            "method": op.method,
            "path": op.path,
            "summary": clean_text(op.summary, max_lines=1, max_chars=200),
            "collection": op.collection,
            "entity": op.entity,
            "pagination": op.pagination.style.value,
            "incremental": None if op.incremental is None else (op.incremental.field or op.incremental.param),
            "capability": op.capability,
            "params": [
                {
                    "name": p.name,
                    "in": p.location.value,
                    "wire_name": p.wire_name,
                    "type": p.type.value,
                    "required": p.required,
                    "description": clean_text(p.description, max_lines=2, max_chars=200),
                }
                for p in op.parameters
            ],
        })
    document = {
        "name": spec.name,
        "title": spec.title,
        "version": spec.api_version,
        "builder_version": BUILDER_VERSION,
        "source_format": spec.source_format.value,
        "operations": operations,
        "entities": {
            e.name: {"fields": {f.name: f.kind.value for f in e.fields}, "keys": list(e.keys)}
            for e in spec.entities
        },
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _path_expression(op: Operation) -> str:
    by_wire = {p.wire_name: p for p in op.parameters if p.location == ParamLocation.PATH}
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(op.path):
        if match.start() > position:
            parts.append(literal(quote(op.path[position : match.start()], safe=_PATH_SAFE)))
        param = by_wire[match.group(1)]
        if param.encoding == ValueEncoding.ODATA_LITERAL:
            parts.append(f"rt.lit(v, {literal(param.name)}, {literal(param.odata_literal or 'string')})")
        else:
            parts.append(f"rt.{_PATH_HELPER.get(param.encoding, 'seg')}(v, {literal(param.name)})")
        position = match.end()
    if position < len(op.path):
        parts.append(literal(quote(op.path[position:], safe=_PATH_SAFE)))
    return " + ".join(parts) or "''"


def _param_tuple(op: Operation) -> str:
    rows = []
    for p in op.parameters:
        extra: Any = p.odata_literal if p.encoding == ValueEncoding.ODATA_LITERAL else (
            p.item_type.value if p.item_type is not None else None
        )
        row = (p.name, p.location.value, p.wire_name, p.type.value, p.required, p.encoding.value, extra)
        rows.append(literal(row))
    if not rows:
        return "()"
    return "(\n            " + ",\n            ".join(rows) + ",\n        )"


def _op_entry(op: Operation) -> str:
    func = identifier(f"op_{op.id}")
    args = [literal(op.id), func, literal(op.method), _param_tuple(op)]
    if op.entity:
        args.append(f"entity={literal(op.entity)}")
    if op.collection:
        args.append("collection=True")
    if op.record_path:
        args.append(f"records={literal(tuple(op.record_path))}")
    if op.collection:
        pg = op.pagination
        paging = (pg.style.value, pg.size_param, pg.position_param, pg.first_page, pg.next_path,
                  pg.page_count_path, pg.total_path, pg.has_more_path, pg.fixed_page_size)
        args.append(f"paging={literal(paging)}" if pg.style != PaginationStyle.NONE else "paging=None")
    if op.incremental is not None:
        inc = op.incremental
        args.append(f"since={literal((inc.mode.value, inc.param, inc.field, inc.literal, inc.fixed))}")
    if op.request_body is not None:
        args.append(f"body={literal(op.request_body.content_type)}")
    return "    rt.Op(\n        " + ",\n        ".join(args) + ",\n    ),"


def _chunks(text: str, size: int = 96) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def generate_guest(spec: SdkSpec) -> dict[str, str]:
    """The guest files: ``guest.py`` (entry, ``WitWorld``) and ``_erp_runtime.py``."""
    title = clean_text(spec.title, max_lines=1, max_chars=120) or spec.name
    lines = [
        docstring(
            f"ERP SDK guest '{spec.name}' ({title}), generated by sdk_builder {BUILDER_VERSION}.\n"
            "Do not edit.\n\n"
            "Runs inside CPython compiled to WebAssembly, standard library only. Requests go through\n"
            "the host (wit_world.imports.host); this module builds them and reads the pages.",
            "",
        ),
        "",
        "from typing import Any",
        "",
        f"import {RUNTIME_MODULE} as rt",
        "import wit_world",
        "",
        "DESCRIBE = (",
        *[f"    {literal(chunk)}" for chunk in _chunks(describe_json(spec))],
        ")",
        "FIELDS = rt.load_fields(DESCRIBE)",
    ]
    for op in spec.operations:
        lines += [
            "",
            "",
            f"def {identifier('op_' + op.id)}(v: dict[str, Any]) -> str:",
            f"    {docstring(op.summary or op.id, '    ')}",
            f"    return {_path_expression(op)}",
        ]
    lines += ["", "", "OPERATIONS = rt.index("]
    lines += [_op_entry(op) for op in spec.operations]
    lines += [
        ")",
        "",
        "",
        "class WitWorld(wit_world.WitWorld):",
        f"    {docstring(f'The {spec.name} connector: describe() and execute() over OPERATIONS.', '    ')}",
        "",
        "    def describe(self) -> str:",
        "        return DESCRIBE",
        "",
        "    def execute(self, operation: str, params_json: str) -> str:",
        "        return rt.execute(OPERATIONS, FIELDS, operation, params_json)",
        "",
    ]
    return {f"{ENTRY_MODULE}.py": "\n".join(lines), f"{RUNTIME_MODULE}.py": runtime_source()}
