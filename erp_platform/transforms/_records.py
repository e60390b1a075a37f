"""Typed frames from extracted records, so frames carry the logical types the SDK declares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import polars as pl

from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms import _logical as lt
from erp_platform.transforms._convert import Check, convert, verify_conversions

_NATIVE: dict[str, tuple[type, ...]] = {lt.TEXT: (str,), lt.BIGINT: (int,), lt.DOUBLE: (int, float),
                                        lt.BOOLEAN: (bool,)}


def frame_from_records(records: Sequence[Mapping[str, Any]], fields: Mapping[str, FieldKind | str], *,
                       where: str = "records") -> pl.DataFrame:
    """A frame with one column per declared field, typed by :data:`FIELD_KIND_TYPES`.

    Values arrive normalised by the host (ISO dates and datetimes as text, decimals as text, nested
    JSON as is); they are parsed here, and one that does not parse fails with the field, the type and
    sample rows. Keys not declared in ``fields`` are left out.

    Raises:
        ConversionError: a value does not match its field's kind.
    """
    schema = lt.schema_from_fields(fields)
    columns: list[pl.Series] = []
    checks: list[Check] = []
    typed: list[pl.Expr] = []
    for name, logical in schema.items():
        values = [record.get(name) for record in records]
        if logical == lt.JSONB:
            encoded = [None if v is None else orjson.dumps(v, default=str).decode() for v in values]
            columns.append(pl.Series(name, encoded, dtype=pl.String()))
            continue
        native = _NATIVE.get(logical)
        if native is not None and all(v is None or _is(v, native, logical) for v in values):
            columns.append(pl.Series(name, values, dtype=lt.dtype_of(logical)))
            continue
        columns.append(pl.Series(name, [None if v is None else _text(v) for v in values], dtype=pl.String()))
        value = convert(pl.col(name), lt.TEXT, logical)
        subject = f"field {name!r} ({FieldKind(fields[name]).value})"
        checks.append(Check(subject, logical, pl.col(name), value))
        typed.append(value.alias(name))
    frame = pl.DataFrame(columns) if columns else pl.DataFrame()
    if not checks:
        return frame
    hint = "the ERP sent a value that does not match the field's kind; fix the SDK's field declaration"
    return verify_conversions(frame.lazy(), checks, where=where, hint=hint, extra=typed)


def _is(value: object, native: tuple[type, ...], logical: str) -> bool:
    if isinstance(value, bool) and logical != lt.BOOLEAN:
        return False
    return isinstance(value, native)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return str(value)
