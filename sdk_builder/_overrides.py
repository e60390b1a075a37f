"""Operator overrides of the builder's decisions, per operation (``--override FILE`` and ``--set``).

A file (YAML or JSON)::

    operations:
      list_contacts:
        record_path: Contacts            # dotted; "" for a top-level array
        primary_key: [ContactID]         # or "ContactID" / "SalesOrder,SalesOrderItem"
        paging: {style: page, position_param: page, size_param: null}
        incremental: {mode: header, param: If-Modified-Since, field: UpdatedDateUTC}   # or null: none

``--set list_contacts.primary_key=ContactID`` sets one value (``paging.style=cursor``,
``incremental=none``, ...); ``--set`` wins over the file. Overrides are part of the spec hash and
recorded in the SdkSpec (``overrides``), and each overridden decision's evidence says so.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from erp_platform._errors import InvalidInputError
from sdk_builder._model import (
    Decision,
    DecisionSource,
    Incremental,
    IncrementalMode,
    Operation,
    Pagination,
    PaginationStyle,
    ParsedSpec,
)

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_FIELDS = ("record_path", "primary_key", "paging", "incremental")


class PagingOverride(BaseModel):
    """Pagination values to replace (unset ones keep the builder's)."""

    model_config = _FROZEN

    style: PaginationStyle | None = None
    size_param: str | None = None
    position_param: str | None = None
    first_page: int | None = None
    next_path: str | None = None
    page_count_path: str | None = None
    total_path: str | None = None
    has_more_path: str | None = None
    fixed_page_size: int | None = Field(None, ge=1)


class IncrementalOverride(BaseModel):
    """Incremental-read values to replace (unset ones keep the builder's)."""

    model_config = _FROZEN

    mode: IncrementalMode | None = None
    param: str | None = None
    field: str | None = None
    literal: str | None = None


class OperationOverride(BaseModel):
    """Overrides of one operation. ``incremental: null`` removes incremental reads."""

    model_config = _FROZEN

    record_path: str | list[str] | None = None
    primary_key: str | list[str] | None = None
    paging: PagingOverride | None = None
    incremental: IncrementalOverride | None = None


class SdkOverrides(BaseModel):
    """All overrides of one build."""

    model_config = _FROZEN

    operations: dict[str, OperationOverride] = Field(default_factory=dict)

    def canonical(self) -> str:
        """Stable JSON (part of the spec hash)."""
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), sort_keys=True, separators=(",", ":"))

    @property
    def empty(self) -> bool:
        return not self.operations


def parse_overrides(
    text: str | None, sets: tuple[str, ...] | list[str] = (), *, source: str = "--override"
) -> SdkOverrides:
    """Read an override file's text and ``--set OPERATION.FIELD=VALUE`` items into :class:`SdkOverrides`.

    Raises:
        InvalidInputError: the file is not YAML/JSON of the documented shape, or a ``--set`` is malformed;
            the message names the path and the fix.
    """
    data: dict[str, Any] = {}
    if text is not None and text.strip():
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{source}: not valid YAML or JSON ({exc}); see `erp sdk build --help`") from None
        if not isinstance(loaded, dict):
            raise InvalidInputError(
                f"{source}: expected a mapping with 'operations', e.g. operations: {{list_contacts: "
                f"{{primary_key: [ContactID]}}}}, got {type(loaded).__name__}"
            )
        data = loaded
    raw_operations = data.get("operations") or {}
    if not isinstance(raw_operations, dict):
        raise InvalidInputError(f"{source}: 'operations' must map operation ids to overrides")
    operations: dict[str, Any] = {str(k): v for k, v in raw_operations.items()}
    for item in sets:
        _apply_set(operations, item)
    unknown_top = sorted(set(data) - {"operations"})
    if unknown_top:
        raise InvalidInputError(f"{source}: unknown key {unknown_top[0]!r}; the file holds only 'operations'")
    try:
        return SdkOverrides.model_validate({"operations": operations})
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            field = str(error["loc"][-1])
            group = PagingOverride if "paging" in error["loc"] else IncrementalOverride
            allowed = _FIELDS if len(error["loc"]) == 3 else tuple(group.model_fields)
            raise InvalidInputError(
                f"{source}: {path}: unknown field {field!r}; fields that can be overridden: {', '.join(allowed)}"
            ) from None
        raise InvalidInputError(f"{source}: {path}: {error['msg']} (got {error.get('input')!r})") from None


def _apply_set(operations: dict[str, Any], item: str) -> None:
    target, sep, value = item.partition("=")
    parts = target.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise InvalidInputError(
            f"--set {item!r} is not OPERATION.FIELD=VALUE, e.g. --set list_contacts.primary_key=ContactID"
        )
    op, field, *sub = parts
    entry = operations.setdefault(op, {})
    if not isinstance(entry, dict):
        raise InvalidInputError(f"--set {item!r}: operation {op!r} is not a mapping in the override file")
    if field in ("record_path", "primary_key") and not sub:
        entry[field] = value.strip()
    elif field == "incremental" and not sub and value.strip().lower() in ("none", "null", ""):
        entry[field] = None
    elif field in ("paging", "incremental") and len(sub) == 1:
        group = entry.setdefault(field, {})
        if not isinstance(group, dict):
            group = entry[field] = {}
        group[sub[0]] = _scalar(value.strip())
    else:
        raise InvalidInputError(
            f"--set {item!r}: unknown field {'.'.join([field, *sub])!r}; use record_path, primary_key, "
            "paging.<name> or incremental.<name> (or incremental=none)"
        )


def _scalar(text: str) -> Any:
    if text.lower() in ("null", "none"):
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def _as_path(value: str | list[str]) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(value)
    return tuple(p for p in value.split(".") if p) if value else ()


def _as_key(value: str | list[str]) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(value)
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _closest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        return f"did you mean {', '.join(close)}?"
    shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
    return f"operations: {shown or 'none'}"


def apply_overrides(parsed: ParsedSpec, overrides: SdkOverrides) -> ParsedSpec:
    """The parsed spec with each override applied and recorded (evidence source ``override``).

    Raises:
        InvalidInputError: an override names an unknown operation or record field, or asks for something
            the operation cannot do (paging or a key on a non-GET operation); nothing is built.
    """
    if overrides.empty:
        return parsed
    spec = parsed.spec
    ids = [op.id for op in spec.operations]
    by_id = {op.id: op for op in spec.operations}
    applied: list[str] = []
    for op_id, override in overrides.operations.items():
        if op_id not in by_id:
            raise InvalidInputError(f"override for unknown operation {op_id!r}: {_closest(op_id, ids)}")
        by_id[op_id] = _apply(spec.entities, by_id[op_id], override, applied)
    operations = tuple(by_id[i] for i in ids)
    updated = spec.model_copy(update={"operations": operations, "overrides": tuple(applied)})
    return parsed.model_copy(update={"spec": updated})


def _apply(entities: Any, op: Operation, override: OperationOverride, applied: list[str]) -> Operation:
    changes: dict[str, Any] = {}
    evidence = op.evidence
    given = override.model_fields_set
    if (given - {"record_path"}) and op.method != "GET":
        raise InvalidInputError(
            f"override for {op.id!r}: it is a {op.method} operation; paging, primary_key and incremental apply "
            "to GET list operations only"
        )
    fields = next((list(e.field_kinds()) for e in entities if e.name == op.entity), None)
    if "record_path" in given and override.record_path is not None:
        path = _as_path(override.record_path)
        changes["record_path"] = path
        if op.method == "GET" and not op.collection:
            changes["collection"] = True
            unknown = Decision(
                source=DecisionSource.NONE,
                evidence=f"the spec does not describe {op.id!r} as a list; set it with --set {op.id}.FIELD=VALUE",
            )
            evidence = evidence.model_copy(update={"paging": unknown, "primary_key": unknown, "incremental": unknown})
        shown = ".".join(path) or "(top level)"
        evidence = evidence.model_copy(update={"selector": Decision(
            source=DecisionSource.OVERRIDE, evidence=f"override: records at `{shown}`")})
        applied.append(f"{op.id}.record_path={'.'.join(path)}")
    if "primary_key" in given and override.primary_key is not None:
        key = _as_key(override.primary_key)
        missing = [k for k in key if fields is not None and k not in fields]
        if not key or missing:
            names = ", ".join(fields or []) or "none declared"
            what = f"field {missing[0]!r} is not" if missing else "an empty key is not"
            raise InvalidInputError(
                f"override {op.id}.primary_key: {what} a field of the records of {op.id!r} (fields: {names})"
            )
        changes["primary_key"] = key
        evidence = evidence.model_copy(update={"primary_key": Decision(
            source=DecisionSource.OVERRIDE, evidence=f"override: {' + '.join(key)}")})
        applied.append(f"{op.id}.primary_key={','.join(key)}")
    if "paging" in given and override.paging is not None:
        values = override.paging.model_dump(exclude_unset=True)
        paging = Pagination.model_validate({**op.pagination.model_dump(), **values})
        changes["pagination"] = paging
        evidence = evidence.model_copy(update={"paging": Decision(
            source=DecisionSource.OVERRIDE,
            evidence="override: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))})
        applied.extend(f"{op.id}.paging.{k}={v}" for k, v in sorted(values.items()))
    if "incremental" in given:
        if override.incremental is None:
            changes["incremental"] = None
            evidence = evidence.model_copy(update={"incremental": Decision(
                source=DecisionSource.OVERRIDE, evidence="override: no incremental reads")})
            applied.append(f"{op.id}.incremental=none")
        else:
            values = override.incremental.model_dump(exclude_unset=True)
            base = op.incremental.model_dump() if op.incremental is not None else {}
            merged = {**base, **values}
            if "mode" not in merged or "param" not in merged:
                raise InvalidInputError(
                    f"override {op.id}.incremental: the operation has no incremental reads to change; give both "
                    "mode (query_param, header or odata_filter) and param"
                )
            field = merged.get("field")
            if field is not None and fields is not None and field not in fields:
                raise InvalidInputError(
                    f"override {op.id}.incremental.field: {field!r} is not a field of the records of {op.id!r} "
                    f"(fields: {', '.join(fields) or 'none declared'})"
                )
            changes["incremental"] = Incremental.model_validate(merged)
            evidence = evidence.model_copy(update={"incremental": Decision(
                source=DecisionSource.OVERRIDE,
                evidence="override: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))})
            applied.extend(f"{op.id}.incremental.{k}={v}" for k, v in sorted(values.items()))
    changes["evidence"] = evidence
    return op.model_copy(update=changes)
