"""Generates the host-side facade: a pydantic model per entity and a typed client method per operation."""

from __future__ import annotations

from pydantic import BaseModel

from erp_platform.sandbox._protocol import FieldKind
from sdk_builder._model import Entity, Operation, Parameter, ParamLocation, ParamType, SdkSpec
from sdk_builder._naming import PARAMETER_RESERVED, NameAllocator, class_name, is_plain_identifier, snake_case
from sdk_builder._pysrc import clean_text, docstring, identifier, literal
from sdk_builder._version import BUILDER_VERSION

_ANNOTATIONS = {
    FieldKind.STRING: "str", FieldKind.INTEGER: "int", FieldKind.NUMBER: "float",
    FieldKind.DECIMAL: "decimal.Decimal", FieldKind.BOOLEAN: "bool", FieldKind.DATE: "datetime.date",
    FieldKind.DATETIME: "datetime.datetime", FieldKind.JSON: "Any",
}
_PARAM_ANNOTATIONS = {
    ParamType.STRING: "str", ParamType.INTEGER: "int", ParamType.NUMBER: "float", ParamType.BOOLEAN: "bool",
    ParamType.OBJECT: "Mapping[str, Any]", ParamType.ANY: "Any",
}
#: Names the facade module itself defines or imports; entity classes never take them.
_MODULE_NAMES = frozenset({
    "Any", "Generic", "Iterator", "Mapping", "Protocol", "TypeVar", "BaseModel", "ConfigDict", "Field",
    "Caller", "Record", "Page", "Result", "R", "T", "datetime", "decimal",
})
#: Names evaluated in class bodies (annotations, Field); a field or method of that name would shadow them.
_SHADOW_SENSITIVE = frozenset({
    "datetime", "decimal", "Any", "Field", "Mapping", "Iterator", "Page", "Result", "Record", "str", "int",
    "float", "bool", "list", "dict", "self", "call", "iter_pages",
}) | PARAMETER_RESERVED
_PRELUDE = '''
import datetime
import decimal
from collections.abc import Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class Caller(Protocol):
    """Runs operations of the SDK (the sandbox's SdkSession): one page, or all pages."""

    def call(self, operation: str, params: Mapping[str, Any]) -> Any: ...

    def iter_pages(self, operation: str, params: Mapping[str, Any]) -> Iterator[Any]: ...


class Record(BaseModel):
    """Base of the entity models: extra fields are kept, names or aliases both accepted."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


R = TypeVar("R", bound=Record)
T = TypeVar("T")


class Page(BaseModel, Generic[R]):
    """One page of a collection: typed records and the continuation token of the next page."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    records: list[R] = []
    next: str | None = None
    status: int = 200


class Result(BaseModel, Generic[T]):
    """The result of a non-collection operation."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    result: T | None = None
    status: int = 200


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        elif isinstance(value, (datetime.datetime, datetime.date)):
            value = value.isoformat()
        params[key] = value
    return params
'''


def _field_lines(entity: Entity) -> list[str]:
    names = NameAllocator(reserved=_SHADOW_SENSITIVE)
    lines: list[str] = []
    for field in entity.fields:
        plain = (
            is_plain_identifier(field.name)
            and not hasattr(BaseModel, field.name)
            and not field.name.startswith("model_")
            and field.name not in _SHADOW_SENSITIVE
        )
        attr = names.take(field.name if plain else _safe_field(field.name))
        annotation = _ANNOTATIONS[field.kind]
        args = ["None"]
        if attr != field.name:
            args.append(f"alias={literal(field.name)}")
        description = clean_text(field.description, max_lines=1, max_chars=200)
        if description:
            args.append(f"description={literal(description)}")
        value = "None" if len(args) == 1 else f"Field({', '.join(args)})"
        lines.append(f"    {identifier(attr)}: {annotation} | None = {value}")
    return lines or ["    pass"]


def _safe_field(name: str) -> str:
    candidate = snake_case(name, fallback="field")
    if hasattr(BaseModel, candidate) or candidate.startswith("model_") or candidate in _SHADOW_SENSITIVE:
        candidate = f"{candidate}_"
    return candidate


def _param_annotation(param: Parameter, classes: dict[str, str], body_entity: str | None) -> str:
    if param.location == ParamLocation.BODY and body_entity and body_entity in classes:
        return f"{classes[body_entity]} | Mapping[str, Any]"
    if param.type == ParamType.ARRAY:
        item = _PARAM_ANNOTATIONS.get(param.item_type or ParamType.ANY, "Any")
        return f"list[{item}]"
    return _PARAM_ANNOTATIONS[param.type]


def _method_doc(op: Operation) -> str:
    text = clean_text(op.summary or op.id, max_lines=1, max_chars=200)
    detail = clean_text(op.description, max_lines=6, max_chars=600) if op.description != op.summary else ""
    parts = [text]
    if detail:
        parts += ["", detail]
    args = [
        f"{p.name}: {clean_text(p.description, max_lines=1, max_chars=160) or p.wire_name}"
        for p in op.parameters
    ]
    if args:
        parts += ["", "Args:", *[f"    {a}" for a in args]]
    return "\n".join(parts)


def _methods(op: Operation, classes: dict[str, str], method_names: NameAllocator) -> list[str]:
    body_entity = op.request_body.entity if op.request_body else None
    model = classes.get(op.entity or "", "Record")
    required = [p for p in op.parameters if p.required]
    optional = [p for p in op.parameters if not p.required]
    signature = ["self", "*"]
    signature += [f"{identifier(p.name)}: {_param_annotation(p, classes, body_entity)}" for p in required]
    signature += [f"{identifier(p.name)}: {_param_annotation(p, classes, body_entity)} | None = None"
                  for p in optional]
    values = [f"{literal(p.name)}: {p.name}" for p in op.parameters]
    if op.collection:
        signature += ["_next: str | None = None", "_page_size: int | None = None"]
        values += ['"_next": _next', '"_page_size": _page_size']
        if op.incremental is not None:
            signature.append("_since: datetime.datetime | str | None = None")
            values.append('"_since": _since')
    signature.append("_mode: str | None = None")
    values.append('"_mode": _mode')
    params = "_params({" + ", ".join(values) + "})"
    name = identifier(method_names.take(op.id))
    doc = docstring(_method_doc(op), "        ")
    returns = f"Page[{model}]" if op.collection else f"Result[{model if op.entity else 'Any'}]"
    lines = [
        "",
        f"    def {name}({', '.join(signature)}) -> {returns}:",
        f"        {doc}",
        f"        page = self._caller.call({literal(op.id)}, {params})",
        f"        return {returns}.model_validate(page)",
    ]
    if op.collection:
        iter_name = identifier(method_names.take(f"iter_{op.id}"))
        iter_signature = [s for s in signature if not s.startswith("_next")]
        iter_values = [v for v in values if not v.startswith('"_next"')]
        iter_params = "_params({" + ", ".join(iter_values) + "})"
        lines += [
            "",
            f"    def {iter_name}({', '.join(iter_signature)}) -> Iterator[{model}]:",
            f"        {docstring(f'Every record of {op.id}, following the pages.', '        ')}",
            f"        for page in self._caller.iter_pages({literal(op.id)}, {iter_params}):",
            f"            yield from Page[{model}].model_validate(page).records",
        ]
    return lines


def generate_facade(spec: SdkSpec) -> str:
    """The facade module source for ``spec``."""
    class_names = NameAllocator(reserved=_MODULE_NAMES)
    classes = {e.name: identifier(class_names.take(class_name(e.name))) for e in spec.entities}
    camel = "".join(word[:1].upper() + word[1:] for word in spec.name.split("_"))
    client = identifier(class_names.take(class_name(camel, fallback="Sdk") + "Client"))
    title = clean_text(spec.title, max_lines=1, max_chars=120) or spec.name
    lines = [
        docstring(
            f"Typed client of the ERP SDK '{spec.name}' ({title}), "
            f"generated by sdk_builder {BUILDER_VERSION}.\n\n"
            "Do not edit. Records are pydantic models; each method runs one operation through a Caller.",
            "",
        ),
        _PRELUDE.rstrip("\n"),
    ]
    for entity in spec.entities:
        lines += [
            "",
            "",
            f"class {classes[entity.name]}(Record):",
            f"    {docstring(entity.description or f'A {entity.name} record.', '    ')}",
            "",
            *_field_lines(entity),
        ]
    method_names = NameAllocator(reserved=_SHADOW_SENSITIVE)
    lines += [
        "",
        "",
        f"class {client}:",
        "    " + docstring(f"The {spec.name} operations, run through the caller, a page per call.", "    "),
        "",
        "    def __init__(self, caller: Caller) -> None:",
        "        self._caller = caller",
    ]
    for op in spec.operations:
        lines += _methods(op, classes, method_names)
    lines.append("")
    return "\n".join(lines)
