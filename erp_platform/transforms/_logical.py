"""Logical column types: what transforms, mappings and loads reason about, and their polars form.

A logical type is a normalised :data:`~erp_platform.transforms.ColumnType` name (``text``, ``bigint``,
``integer``, ``double precision``, ``boolean``, ``date``, ``timestamptz``, ``jsonb``, ``numeric(P,S)``) or
``unknown`` (an all-null column or the ``null`` literal: compatible with every type). A :data:`Schema` is
an ordered mapping of column name to logical type.

In frames: ``numeric(P,S)`` is ``pl.Decimal(P,S)``, ``timestamptz`` is ``pl.Datetime("us", "UTC")`` and
``jsonb`` is JSON text in a ``pl.String`` column (so a frame read back from parquet reports it as
``text``; mapping such a column to ``jsonb`` validates the JSON). Struct and list columns are ``jsonb``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeAlias

import polars as pl

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms._types import COLUMN_TYPES_HELP, _check_type

Schema: TypeAlias = Mapping[str, str]
"""Ordered mapping column -> logical type (see module docs)."""

UNKNOWN = "unknown"
TEXT = "text"
BIGINT = "bigint"
INTEGER = "integer"
DOUBLE = "double precision"
BOOLEAN = "boolean"
DATE = "date"
TIMESTAMPTZ = "timestamptz"
JSONB = "jsonb"
#: Type of a ``decimal`` SDK field, whose precision the SDK does not declare.
DECIMAL_DEFAULT = "numeric(38,10)"
#: Largest numeric precision (polars and the platform both cap decimals at 38 digits).
MAX_PRECISION = 38

FIELD_KIND_TYPES: Mapping[FieldKind, str] = {
    FieldKind.STRING: TEXT,
    FieldKind.INTEGER: BIGINT,
    FieldKind.NUMBER: DOUBLE,
    FieldKind.DECIMAL: DECIMAL_DEFAULT,
    FieldKind.BOOLEAN: BOOLEAN,
    FieldKind.DATE: DATE,
    FieldKind.DATETIME: TIMESTAMPTZ,
    FieldKind.JSON: JSONB,
}
"""The logical type of each SDK field kind (``decimal`` has no declared precision: numeric(38,10))."""

_NUMERIC_RE = re.compile(r"^numeric\((\d+),(\d+)\)$")


def numeric_of(logical: str) -> tuple[int, int] | None:
    """``(precision, scale)`` of a ``numeric(P,S)`` type, else None."""
    match = _NUMERIC_RE.match(logical)
    return (int(match.group(1)), int(match.group(2))) if match else None


def numeric(precision: int, scale: int) -> str:
    """The logical type ``numeric(P,S)`` (precision capped at 38, scale at the precision)."""
    precision = min(max(precision, 1), MAX_PRECISION)
    return f"numeric({precision},{min(scale, precision)})"


def is_integer(logical: str) -> bool:
    return logical in (BIGINT, INTEGER)


def is_number(logical: str) -> bool:
    """True for integer, floating point and decimal types."""
    return logical in (BIGINT, INTEGER, DOUBLE) or numeric_of(logical) is not None


def is_temporal(logical: str) -> bool:
    return logical in (DATE, TIMESTAMPTZ)


def normalize_type(value: str, *, path: str = "type") -> str:
    """Return the normalised logical type named ``value`` or raise InvalidInputError naming ``path``."""
    if value == UNKNOWN:
        return value
    try:
        return _check_type(value)
    except ValueError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None


def schema_from_fields(fields: Mapping[str, FieldKind | str]) -> dict[str, str]:
    """The schema of records whose fields the SDK declares with :class:`FieldKind` (in field order)."""
    out: dict[str, str] = {}
    for name, kind in fields.items():
        try:
            out[name] = FIELD_KIND_TYPES[FieldKind(kind)]
        except ValueError:
            valid = ", ".join(k.value for k in FieldKind)
            raise InvalidInputError(
                f"field {name!r}: unknown field kind {kind!r}; use one of {valid}"
            ) from None
    return out


def dtype_of(logical: str) -> pl.DataType:
    """The polars dtype that holds values of ``logical`` in a frame."""
    simple: dict[str, pl.DataType] = {
        TEXT: pl.String(),
        BIGINT: pl.Int64(),
        INTEGER: pl.Int32(),
        DOUBLE: pl.Float64(),
        BOOLEAN: pl.Boolean(),
        DATE: pl.Date(),
        TIMESTAMPTZ: pl.Datetime("us", "UTC"),
        JSONB: pl.String(),
        UNKNOWN: pl.Null(),
    }
    if logical in simple:
        return simple[logical]
    spec = numeric_of(logical)
    if spec is None:
        raise InvalidInputError(f"unknown logical type {logical!r}: use {COLUMN_TYPES_HELP}")
    return pl.Decimal(spec[0], spec[1])


def logical_type_of(dtype: pl.DataType) -> str:
    """The logical type of a polars column (``text`` for strings, ``jsonb`` for structs and lists)."""
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return TEXT
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16):
        return INTEGER
    if dtype in (pl.Int64, pl.UInt32, pl.UInt64):
        return BIGINT
    if dtype in (pl.Float32, pl.Float64):
        return DOUBLE
    if dtype == pl.Boolean:
        return BOOLEAN
    if dtype == pl.Date:
        return DATE
    if isinstance(dtype, pl.Datetime):
        return TIMESTAMPTZ
    if isinstance(dtype, pl.Decimal):
        return numeric(dtype.precision or MAX_PRECISION, dtype.scale or 0)
    if isinstance(dtype, pl.Struct | pl.List | pl.Array):
        return JSONB
    if dtype == pl.Null:
        return UNKNOWN
    raise InvalidInputError(
        f"columns of polars type {dtype} are not supported; convert them to text, numbers, booleans, "
        "dates or datetimes first"
    )


def schema_of_frame(frame: pl.LazyFrame | pl.DataFrame) -> dict[str, str]:
    """The logical schema of a frame's columns, in order."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    out: dict[str, str] = {}
    for name, dtype in schema.items():
        try:
            out[name] = logical_type_of(dtype)
        except InvalidInputError as exc:
            raise InvalidInputError(f"column {name!r}: {exc}") from None
    return out
