"""Arithmetic that fails on overflow instead of giving a wrong number.

polars wraps 64-bit integers around (``3 * 9223372036854775807 * 9223372036854775807`` is 3) and raises a
bare compute error on decimal overflow. Each checked operation runs per batch on its operands and the row
numbers: it computes exactly (integers in 128 bits, decimals only on the rows that fit numeric(38, s)) and
raises a :class:`ConversionError` naming the expression, the operation and the first rows that overflowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from erp_platform.transforms import _logical as lt
from erp_platform.transforms._errors import SAMPLE_SIZE, ConversionError

_ROW = "__erp_row"
_NAMES = ("a", "b")
_HINT = ("the result does not fit its type: cast the operands to a wider type first (e.g. "
         "cast(x as numeric(38,2))), or filter such rows out")

#: Builds the operation on the operand columns ``a`` (and ``b``).
Operation = Callable[[Sequence[pl.Expr]], pl.Expr]


def checked(operands: Sequence[pl.Expr], operation: Operation, *, dtype: pl.DataType, target: str,
            shown: Callable[[Sequence[object]], str], where: str, subject: str,
            divides: bool = False) -> pl.Expr:
    """``operation`` over ``operands``, raising ConversionError on rows where it overflows.

    A null result from non-null operands is an overflow, except for a division (``divides``) by zero.
    """
    names = _NAMES[: len(operands)]
    value = operation([pl.col(n) for n in names]).alias("value")
    present = pl.all_horizontal([pl.col(n).is_not_null() for n in names])
    overflow = present & pl.col("value").is_null()
    if divides:
        overflow = overflow & (pl.col("b") != 0)

    def run(batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest().with_columns(value)
        bad = frame.filter(overflow)
        if bad.height:
            rows = bad.head(SAMPLE_SIZE).select(_ROW, *names).rows()
            raise ConversionError(where=where, subject=subject, target=target, failure="overflow",
                                  bad_count=bad.height, total=frame.height,
                                  samples=[(int(r[0]), shown(r[1:])) for r in rows], hint=_HINT)
        return frame["value"]

    columns = [o.alias(n) for o, n in zip(operands, names, strict=True)]
    packed = pl.struct(*columns, pl.int_range(pl.len(), dtype=pl.Int64()).alias(_ROW))
    out = packed.map_batches(run, return_dtype=dtype)
    name = operands[0].meta.output_name(raise_if_undetermined=False)  # as polars names ``a + b``: a
    return out if name is None else out.alias(name)


def wide_integer(op: str) -> Operation:
    """``a op b`` (or ``op a`` for one operand) computed in 128 bits; null where it leaves bigint."""

    def build(cols: Sequence[pl.Expr]) -> pl.Expr:
        a = cols[0].cast(pl.Int128())
        if len(cols) == 1:
            exact = a.abs() if op == "abs" else pl.lit(0, dtype=pl.Int128()) - a
        else:
            b = cols[1].cast(pl.Int128())
            exact = a + b if op == "+" else a - b if op == "-" else a * b
        return exact.cast(pl.Int64(), strict=False)

    return build


def decimal(op: str, dtype: pl.DataType, scale: int,
            operate: Callable[[str, pl.Expr, pl.Expr, pl.DataType], pl.Expr]) -> Operation:
    """``operate(op, a, b)`` in numeric(38, scale) on the rows where operands and result fit, else null.

    Whether they fit is estimated in float64, so polars never meets a value it would refuse.
    """
    limit = 10.0 ** (lt.MAX_PRECISION - scale) * (1 - 1e-9)

    def build(cols: Sequence[pl.Expr]) -> pl.Expr:
        a, b = cols
        fa, fb = a.cast(pl.Float64()), b.cast(pl.Float64())
        fits = (fa.abs() < limit) & (fb.abs() < limit)
        if op == "/":
            fits = fits & ((fb == 0) | ((fa / fb).abs() < limit))
        elif op != "%":
            estimate = fa + fb if op == "+" else fa - fb if op == "-" else fa * fb
            fits = fits & (estimate.abs() < limit)
        safe_a = pl.when(fits).then(a).otherwise(None).cast(dtype)
        safe_b = pl.when(fits).then(b).otherwise(None).cast(dtype)
        return operate(op, safe_a, safe_b, dtype)

    return build
