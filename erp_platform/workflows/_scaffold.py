"""``erp workflow scaffold``: a complete, valid workflow definition for some operations of an SDK.

For each operation: an extract (page size, incremental when the SDK declares a change field), and a load
into a table named after the operation's resource, keyed on the SDK's primary key, with a mapping that
lists every field of the records (exact source name, snake_case target, column type from the field's
kind). A schedule trigger is written commented out. The text is meant to be edited; applied unchanged it
is valid and loads rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erp_platform._errors import InvalidInputError, Problem, ValidationFailed
from erp_platform.transforms._logical import FIELD_KIND_TYPES
from erp_platform.transforms._names import allocate_columns, column_name, column_names
from erp_platform.workflows._catalog import OperationInfo, SdkInfo
from erp_platform.workflows._problems import did_you_mean

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})
#: Page size written when the SDK declares no maximum: small enough for most ERPs' limits (100 to 1,000).
DEFAULT_PAGE_SIZE = 100
MAX_NAME = 63 - len("load_")
SCHEDULE = '#   - {type: schedule, cron: "0 * * * *", timezone: UTC}'


class ScaffoldRequest(BaseModel):
    """What to scaffold: operations of one SDK version, with values for required parameters and keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operations: tuple[str, ...] = Field(min_length=1, description="SDK operations to extract, in order")
    workflow_id: str | None = Field(None, description="workflow id (default: <sdk>_sync)")
    params: dict[str, Any] = Field(
        default_factory=dict, description="values of required parameters, for every operation that takes them"
    )
    keys: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="business key fields per operation without a declared primary key"
    )


def scaffold_workflow(sdk: SdkInfo, request: ScaffoldRequest) -> str:
    """The YAML text of a workflow that extracts and loads ``request.operations`` of ``sdk``.

    Raises:
        ValidationFailed: an operation is unknown or not a collection read, declares no fields, needs a
            parameter or a key that was not given (every problem, with the option that fixes it).
    """
    problems = _problems(sdk, request)
    ValidationFailed.raise_if_any(f"cannot scaffold a workflow from SDK {sdk.label}", problems)
    workflow_id = request.workflow_id or column_name(f"{sdk.name}_sync")
    operations = [op for name in request.operations if (op := sdk.operation(name)) is not None]
    names = allocate_columns([_activity_name(op) for op in operations])
    lines = [
        f"# Workflow scaffolded from SDK {sdk.label} ({', '.join(request.operations)}).",
        "# Edit freely: every mapping lists all fields of the records (source: the ERP's name, exactly;",
        "# target: the table column; type: its Postgres type). Remove the columns you do not want.",
        f"id: {workflow_id}",
        f"description: {_scalar(f'{sdk.name}: ' + ', '.join(op.resource or op.name for op in operations))}",
        "activities:",
    ]
    steps: list[str] = []
    for op, name in zip(operations, names, strict=True):
        lines += _extract(op, name, sdk.name, request.params)
        lines += _load(op, name, request.keys.get(op.name, op.primary_key))
        steps += [f"  - {{activity: {name}}}", f"  - {{activity: load_{name}, depends_on: [{name}]}}"]
    lines += ["steps:", *steps, "# triggers:", SCHEDULE, ""]
    return "\n".join(lines)


def _activity_name(op: OperationInfo) -> str:
    """The extract's id and table name: the last literal segment of the operation's path (``/Contacts``,
    ``companies({id})/customers``), else its resource or name; short enough for ``load_``."""
    literal = [s for s in op.path.split("?")[0].split("/") if s and "{" not in s and "(" not in s]
    return column_name(literal[-1] if literal else op.resource or op.name)[:MAX_NAME].rstrip("_")


def _problems(sdk: SdkInfo, request: ScaffoldRequest) -> list[Problem]:
    problems: list[Problem] = []
    known = [op.name for op in sdk.operations]
    for k, name in enumerate(request.operations):
        op = sdk.operation(name)
        path = f"operations[{k}]"
        if op is None:
            reads = ", ".join(o.name for o in sdk.operations if o.is_collection_read)
            problems.append(Problem(path, f"SDK {sdk.label} has no operation {name!r}{did_you_mean(name, known)}; "
                                    f"its collection reads: {reads or 'none'}", name))
            continue
        if not op.is_collection_read:
            problems.append(Problem(path, f"{name!r} is not a collection read ({op.method}); a workflow extracts "
                                    "collections: choose a list operation", name))
            continue
        if not op.fields:
            problems.append(Problem(path, f"operation {name!r} declares no record fields (its spec describes no "
                                    "schema for the records): choose another operation", name))
            continue
        missing = [p.name for p in op.params if p.required and p.name not in request.params]
        if missing:
            options = " ".join(f"--param {m}=VALUE" for m in missing)
            problems.append(Problem(path, f"operation {name!r} needs parameter{'s' if len(missing) > 1 else ''} "
                                    f"{', '.join(missing)}: pass {options}", name))
        key = request.keys.get(name, op.primary_key)
        if not key:
            problems.append(Problem(path, f"operation {name!r} declares no primary key: pass --key "
                                    f"{name}=FIELD (the field(s) identifying a record, comma-separated; fields: "
                                    f"{', '.join(list(op.fields)[:20])})", name))
        unknown = [f for f in key if f not in op.fields]
        if unknown:
            problems.append(Problem(f"keys.{name}", f"operation {name!r} has no field "
                                    f"{', '.join(repr(u) for u in unknown)}{did_you_mean(unknown[0], op.fields)}",
                                    list(key)))
    for name in request.keys:
        if name not in request.operations:
            problems.append(Problem(f"keys.{name}", f"--key names operation {name!r}, which is not scaffolded "
                                    f"({', '.join(request.operations)})", name))
    return problems


def _extract(op: OperationInfo, name: str, sdk: str, params: Mapping[str, Any]) -> list[str]:
    accepted = {p.name for p in op.params}
    given = {k: v for k, v in params.items() if k in accepted}
    paging = op.paging.replace("_", " ")
    if op.fixed_page_size:
        size, note = op.fixed_page_size, f"paging: {paging}; the ERP returns {op.fixed_page_size} records a page"
    elif op.max_page_size:
        size, note = min(op.max_page_size, 1000), f"paging: {paging}; the ERP accepts at most {op.max_page_size}"
    elif op.paging == "none":
        size, note = DEFAULT_PAGE_SIZE, "paging: none"
    else:
        size, note = DEFAULT_PAGE_SIZE, f"paging: {paging}; raise it if the ERP accepts larger pages"
    lines = [
        f"  - id: {name}",
        "    type: extract",
        f"    description: {_scalar(f'{op.method} {op.resource or op.name} ({op.name})')}",
        "    config:",
        f"      sdk: {sdk}",
        f"      operation: {op.name}",
    ]
    if given:
        lines.append(f"      params: {{{', '.join(f'{_scalar(k)}: {_scalar(v)}' for k, v in given.items())}}}")
    lines.append(f"      page_size: {size}  # {note}")
    if op.incremental and op.cursor_field:
        lines.append(f"      incremental: true  # reads records changed since the last run ({op.cursor_field})")
    elif op.incremental:
        lines.append("      incremental: false  # the SDK names no change field: set cursor_field to enable")
    return lines


def _load(op: OperationInfo, name: str, key: Sequence[str]) -> list[str]:
    targets = column_names(op.fields)
    lines = [
        f"  - id: load_{name}",
        "    type: load",
        "    config:",
        f"      table: {name}",
        f"      business_key: [{', '.join(targets[k] for k in key)}]",
        "      mapping:",
        "        columns:",
    ]
    for source, kind in op.fields.items():
        lines.append(f"          - {{source: {_scalar(source)}, target: {targets[source]}, "
                     f"type: {_scalar(FIELD_KIND_TYPES[kind])}}}")
    return lines


def _scalar(value: object) -> str:
    """A YAML flow scalar that reads back as ``value`` (JSON-quoted unless plainly safe)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def parse_assignments(values: Sequence[str], option: str) -> dict[str, str]:
    """``["company_id=c1"]`` -> ``{"company_id": "c1"}``; a value without ``=`` names the option's form."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"{option} {value!r}: write it as NAME=VALUE, e.g. {option} company_id=c1")
        out[name.strip()] = rest
    return out
