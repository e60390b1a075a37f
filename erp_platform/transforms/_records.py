"""Typed frames from extracted records, so frames carry the logical types the SDK declares."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import orjson
import polars as pl

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms import _logical as lt
from erp_platform.transforms._convert import Check, convert, verify_conversions

_NATIVE: dict[str, tuple[type, ...]] = {
    lt.TEXT: (str,),
    lt.BIGINT: (int,),
    lt.DOUBLE: (int, float),
    lt.BOOLEAN: (bool,),
}


def frame_from_records(
    records: Sequence[Mapping[str, Any]],
    fields: Mapping[str, FieldKind | str],
    *,
    where: str = "records",
    raw: bool = False,
) -> pl.DataFrame:
    """A frame with one column per declared field, typed by :data:`FIELD_KIND_TYPES`.

    Values arrive normalised by the host (ISO dates and datetimes as text, decimals as text, nested
    JSON as is), or ``raw`` as the ERP sent them (OData ``/Date(ms)/`` dates, ISO with offsets). They are
    parsed column by column (fast path); when a column does not fit, the records are normalised and
    checked value by value, and one that does not parse fails with the field, the type and sample rows.
    Keys not declared in ``fields`` are left out.

    Raises:
        InvalidInputError: records but no declared fields (the frame would have no rows).
        ConversionError: a value does not match its field's kind.
        NormalisationError: (``raw``) a value cannot be normalised to its field's kind.
    """
    if records and not fields:  # a frame without columns has no rows: never drop records silently
        keys = ", ".join(list(records[0])[:20]) or "(none)"
        raise InvalidInputError(
            f"{where}: {len(records)} records arrived but no fields are declared for them (the first record "
            f"has keys {keys}): declare the entity's fields in the SDK"
        )
    fast = _fast_frame(records, fields)
    if fast is not None:
        return fast
    if raw:
        from erp_platform.sandbox._errors import NormalisationError
        from erp_platform.sandbox._normalise import normalise_records

        try:
            records = normalise_records([dict(r) for r in records], {k: FieldKind(v) for k, v in fields.items()})
        except NormalisationError as exc:  # say which page (or batch) the record is in
            raise NormalisationError(f"{where}: {exc.detail}", context=exc.context) from None
    return _checked_frame(records, fields, where=where)


_FAST_RAW: dict[str, pl.DataType] = {
    lt.TEXT: pl.String(),
    lt.BIGINT: pl.Int64(),
    lt.DOUBLE: pl.Float64(),
    lt.BOOLEAN: pl.Boolean(),
    lt.DATE: pl.String(),
    lt.TIMESTAMPTZ: pl.String(),
}
_DOTNET_DATE = r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$"
_ISO_UTC_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_ISO_UTC_SECONDS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_ISO_DATE = "%Y-%m-%d"
_ISO_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d\Z")


def _fast_frame(
    records: Sequence[Mapping[str, Any]], fields: Mapping[str, FieldKind | str]
) -> pl.DataFrame | None:
    """Column-wise construction; None when any column needs the value-by-value path.

    Each column is built with ``strict=True`` (a float, string or nested value in an integer column is
    refused, never truncated); booleans are the one thing polars would take as numbers, so numeric columns
    are checked for them. Date and time columns in the common forms are parsed by one query for the whole
    page (each polars query has a fixed cost); a value that does not parse sends the page value by value.
    """
    schema = lt.schema_from_fields(fields)
    if not schema or any(logical not in _FAST_RAW for logical in schema.values()):
        return None
    columns: list[pl.Series] = []
    parse: dict[str, pl.Expr] = {}
    for (name, logical), values in zip(schema.items(), _column_values(records, list(schema)), strict=True):
        if logical in (lt.BIGINT, lt.DOUBLE) and bool in set(map(type, values)):
            return None  # JSON true/false is not a number: the checked path reports it
        try:
            column = pl.Series(name, values, dtype=_FAST_RAW[logical], strict=True)
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
            return None
        if logical in (lt.DATE, lt.TIMESTAMPTZ):
            temporal = _temporal(column, logical)
            if temporal is None:
                return None
            if isinstance(temporal, pl.Expr):
                parse[name] = temporal.alias(name)
            elif temporal.null_count() != column.null_count():
                return None
            else:
                column = temporal.alias(name)
        columns.append(column)
    frame = pl.DataFrame(columns)
    if not parse:
        return frame
    try:
        parsed = frame.with_columns(parse.values())
    except pl.exceptions.PolarsError:
        return None
    if any(parsed.get_column(n).null_count() != frame.get_column(n).null_count() for n in parse):
        return None  # some value is in another form than the column's first one
    return parsed


def _column_values(records: Sequence[Mapping[str, Any]], names: list[str]) -> list[Sequence[Any]]:
    """The values of each named field, column by column (None where a record lacks the field).

    Records that carry every field are transposed in C (``itemgetter`` + ``zip``); a page where some record
    lacks one is read key by key.
    """
    if records and len(names) > 1:
        try:
            return list(zip(*map(itemgetter(*names), records), strict=True))
        except (KeyError, TypeError):
            pass
    return [[record.get(name) for record in records] for name in names]


def _temporal(column: pl.Series, logical: str) -> pl.Expr | pl.Series | None:
    """How to parse a text column into ``logical``, chosen by its first value's form.

    An expression for the forms one query parses (OData v2 ``/Date(ms)/``, plain dates, UTC seconds with
    ``Z``); otherwise the column parsed eagerly (polars infers offsets only eagerly); None when it cannot be.
    """
    target = lt.dtype_of(logical)
    if column.null_count() == column.len():
        return pl.lit(None, dtype=target)
    first = column.drop_nulls().item(0)
    value = pl.col(column.name)
    if first.startswith("/Date("):  # OData v2 / .NET dates: every value must be one
        millis = value.str.extract(_DOTNET_DATE, 1).cast(pl.Int64)
        stamps = pl.from_epoch(millis, time_unit="ms").dt.replace_time_zone("UTC").dt.cast_time_unit("us")
        return stamps.dt.date() if logical == lt.DATE else stamps
    if logical == lt.DATE:
        return value.str.to_date(_ISO_DATE if _ISO_DATE_RE.match(first) else None, strict=False)
    if _ISO_UTC_SECONDS_RE.match(first):
        return value.str.to_datetime(_ISO_UTC_SECONDS, time_unit="us", strict=False).dt.replace_time_zone("UTC")
    try:
        inferred = column.str.to_datetime(time_unit="us", strict=False)
    except pl.exceptions.PolarsError:
        return None
    zone = getattr(inferred.dtype, "time_zone", None)
    return inferred.dt.convert_time_zone("UTC") if zone else inferred.dt.replace_time_zone("UTC")


def _checked_frame(
    records: Sequence[Mapping[str, Any]], fields: Mapping[str, FieldKind | str], *, where: str
) -> pl.DataFrame:
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
