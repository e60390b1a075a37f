"""Checked conversions between logical types, shared by ``cast`` ops, ``cast()``/``to_date()`` in
expressions, and mappings.

The rule (see :func:`conversion_rule`):

* ``same``/``safe``: every value converts (``integer`` -> ``bigint``, anything -> ``text``, ...);
* ``checked``: each value is parsed or range-checked when the data is there; a value that does not
  convert fails the whole step with the column, the type, sample bad values and their rows, never a
  silent null (``text`` -> any type, ``bigint`` -> ``integer``, ``double precision`` -> ``bigint``
  for integral values only, ``numeric`` -> a narrower ``numeric`` rounding half away from zero, ...);
* ``refused``: the conversion makes no sense and is reported before anything runs (a decimal to
  ``boolean``, a date to a number, ``jsonb`` to anything but ``text``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson
import polars as pl

from erp_platform.transforms import _logical as lt
from erp_platform.transforms._errors import SAMPLE_SIZE, ConversionError

Rule = Literal["same", "safe", "checked", "refused"]

TRUE_WORDS = ("true", "t", "yes", "y", "on", "1")
FALSE_WORDS = ("false", "f", "no", "n", "off", "0")

#: ISO 8601 forms accepted for ``timestamptz`` (tried in order; a value without offset is UTC).
TIMESTAMP_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)


def conversion_rule(source: str, target: str) -> Rule:
    """How a value of logical type ``source`` converts to ``target`` (see the module docs)."""
    if source in (target, lt.UNKNOWN):
        return "same"
    if target == lt.TEXT:
        return "safe"
    if source == lt.TEXT:
        return "checked"
    if lt.JSONB in (source, target):
        return "refused"
    src_num, tgt_num = lt.numeric_of(source), lt.numeric_of(target)
    if lt.is_number(source) and lt.is_number(target):
        if source == lt.INTEGER and target in (lt.BIGINT, lt.DOUBLE):
            return "safe"
        if lt.is_integer(source) and tgt_num is not None:
            return "safe" if tgt_num[0] - tgt_num[1] >= (10 if source == lt.INTEGER else 19) else "checked"
        if src_num is not None and target == lt.DOUBLE:
            return "safe"
        if src_num is not None and tgt_num is not None:
            widening = tgt_num[1] >= src_num[1] and tgt_num[0] - tgt_num[1] >= src_num[0] - src_num[1]
            return "safe" if widening else "checked"
        return "checked"
    if lt.is_integer(source) and target == lt.BOOLEAN:
        return "checked"
    if source == lt.DATE and target == lt.TIMESTAMPTZ:
        return "safe"
    if source == lt.TIMESTAMPTZ and target == lt.DATE:
        return "safe"
    return "refused"


def refusal_hint(source: str, target: str) -> str:
    """What to do instead of a refused conversion."""
    if source == lt.JSONB:
        return "jsonb converts only to text or jsonb; map it to a text or jsonb column"
    if target == lt.JSONB:
        return "only text (holding JSON) converts to jsonb; map the field to a column of its own type"
    if target == lt.BOOLEAN:
        return "only text and integers (0/1) convert to boolean; derive a boolean first, e.g. amount > 0"
    return f"{source} does not convert to {target}; choose a {source}-compatible target type or text"


def convert(expr: pl.Expr, source: str, target: str) -> pl.Expr:
    """A polars expression converting ``expr`` (of logical type ``source``) to ``target``.

    A value that does not convert becomes null: callers check ``source not null and result null``
    (see :func:`verify_conversions`). The conversion must not be ``refused``.
    """
    dtype = lt.dtype_of(target)
    if source == target:
        return expr
    if source == lt.UNKNOWN:
        return expr.cast(dtype)
    if target == lt.TEXT:
        return to_text(expr, source)
    if source == lt.TEXT:
        return _from_text(expr.str.strip_chars(), target)
    src_num, tgt_num = lt.numeric_of(source), lt.numeric_of(target)
    if lt.is_number(source) and lt.is_integer(target):
        if source == lt.DOUBLE or src_num is not None:
            return pl.when(expr == expr.floor()).then(expr.cast(dtype, strict=False)).otherwise(None)
        return expr.cast(dtype, strict=False)
    if lt.is_number(source) and target == lt.DOUBLE:
        return expr.cast(pl.Float64)
    if lt.is_number(source) and tgt_num is not None:
        if (src_num is not None and src_num[1] > tgt_num[1]) or source == lt.DOUBLE:
            expr = expr.round(tgt_num[1], mode="half_away_from_zero")
        return expr.cast(dtype, strict=False)
    if lt.is_integer(source) and target == lt.BOOLEAN:
        return pl.when(expr == 1).then(True).when(expr == 0).then(False).otherwise(None)
    if source == lt.DATE and target == lt.TIMESTAMPTZ:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if source == lt.TIMESTAMPTZ and target == lt.DATE:
        return expr.dt.convert_time_zone("UTC").dt.date()
    raise AssertionError(f"refused conversion {source} -> {target} reached convert()")


def to_text(expr: pl.Expr, source: str) -> pl.Expr:
    """Text form of a value: ISO dates, ISO 8601 UTC timestamps, plain decimals, true/false."""
    if source in (lt.TEXT, lt.JSONB):
        return expr
    if source == lt.TIMESTAMPTZ:
        return expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    return expr.cast(pl.String)


def _from_text(text: pl.Expr, target: str) -> pl.Expr:
    dtype = lt.dtype_of(target)
    if lt.is_integer(target) or target == lt.DOUBLE:
        return text.cast(dtype, strict=False)
    spec = lt.numeric_of(target)
    if spec is not None:
        precision, scale = spec
        wide = text.cast(pl.Decimal(lt.MAX_PRECISION, lt.MAX_PRECISION - (precision - scale)), strict=False)
        return wide.round(scale, mode="half_away_from_zero").cast(dtype, strict=False)
    if target == lt.BOOLEAN:
        low = text.str.to_lowercase()
        truthy, falsy = low.is_in(TRUE_WORDS), low.is_in(FALSE_WORDS)
        return pl.when(truthy).then(True).when(falsy).then(False).otherwise(None)
    if target == lt.TIMESTAMPTZ:
        return parse_timestamp(text)
    if target == lt.DATE:
        return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), parse_timestamp(text).dt.date())
    if target == lt.JSONB:
        return text.map_batches(_valid_json, return_dtype=pl.String())
    raise AssertionError(f"no text conversion to {target}")


def parse_timestamp(text: pl.Expr) -> pl.Expr:
    """Parse ISO 8601 text into UTC timestamps (null where no accepted form matches)."""
    return pl.coalesce([
        text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC") for fmt in TIMESTAMP_FORMATS
    ])


def _valid_json(series: pl.Series) -> pl.Series:
    out: list[str | None] = []
    for value in series.to_list():
        if value is None:
            out.append(None)
            continue
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            out.append(None)
        else:
            out.append(value)
    return pl.Series(series.name, out, dtype=pl.String())


def encode_json_columns(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Replace struct and list columns by their JSON text (how jsonb values travel in frames)."""
    schema = frame.collect_schema()
    nested = [name for name, dtype in schema.items() if isinstance(dtype, pl.Struct | pl.List | pl.Array)]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(name).map_batches(_json_encode, return_dtype=pl.String()) for name in nested
    )


def _json_encode(series: pl.Series) -> pl.Series:
    values = [None if v is None else orjson.dumps(v, default=str).decode() for v in series.to_list()]
    return pl.Series(series.name, values, dtype=pl.String())


@dataclass(frozen=True)
class Check:
    """One checked conversion to verify on the data: ``converted`` is null where ``source`` was not.

    ``subject`` names what is converted in the error, e.g. ``column 'amount'``.
    """

    subject: str
    target: str
    source: pl.Expr
    converted: pl.Expr
    failure: str = "cannot be converted to"  # what went wrong, before the target type in the message


def verify_conversions(frame: pl.LazyFrame, checks: Sequence[Check], *, where: str, hint: str,
                       extra: Sequence[pl.Expr] = ()) -> pl.DataFrame:
    """Collect ``frame`` with ``extra`` columns added, failing with :class:`ConversionError` on bad values.

    Every check's failing rows are counted; the error names the first failing check's subject, target
    type, a sample of bad values and their row numbers (0-based, in ``frame``).
    """
    hidden = [f"__erp_chk_{i}" for i in range(len(checks))]
    pairs = list(zip(checks, hidden, strict=True))
    masks = [(c.source.is_not_null() & c.converted.is_null()).alias(h) for c, h in pairs]
    sources = [c.source.alias(h + "_src") for c, h in pairs]
    data = frame.with_columns(*extra, *masks, *sources).collect()
    for check, name in zip(checks, hidden, strict=True):
        bad = data.with_row_index("__erp_row").filter(pl.col(name))
        if bad.height:
            rows = bad.select("__erp_row", name + "_src").head(SAMPLE_SIZE).rows()
            raise ConversionError(where=where, subject=check.subject, target=check.target, failure=check.failure,
                                  bad_count=bad.height, total=data.height,
                                  samples=[(int(r), v) for r, v in rows], hint=hint)
    return data.drop(hidden + [h + "_src" for h in hidden])
