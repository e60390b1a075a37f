"""Arithmetic never wraps around: an overflow fails the step naming the expression and the rows, and
numbers too large for their type are refused when the expression is parsed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from erp_platform.transforms import (
    ConversionError,
    ExecutionContext,
    ExpressionError,
    TransformSpec,
    apply_transform,
    compile_expression,
)

CTX = ExecutionContext("acme", "orders_sync", "run-7", "shape_orders", datetime(2024, 6, 1, tzinfo=UTC))
BIG = "99999999999999999999999999999999999.99"
FRAME = pl.DataFrame(
    {"qty": [1, 3, None, -9223372036854775808], "amount": [Decimal("1.50"), Decimal(BIG), None, Decimal("0")]},
    schema={"qty": pl.Int64(), "amount": pl.Decimal(38, 2)},
)
WHERE = "transform orders_sync.shape_orders steps[0] (derive)"
TAIL = ("rows are counted from 0. the result does not fit its type: cast the operands to a wider type first "
        "(e.g. cast(x as numeric(38,2))), or filter such rows out")


def derive(expr: str) -> list[object]:
    spec = TransformSpec.model_validate({"steps": [{"op": "derive", "column": "x", "expr": expr}]})
    return apply_transform(spec, {"main": FRAME.lazy()}, main="main", ctx=CTX).collect()["x"].to_list()


OVERFLOWS = [
    ("qty * 9223372036854775807 * 9223372036854775807",
     "* at character 5 of 'qty * 9223372036854775807 * 9223372036854775807': 2 of 4 values overflow bigint: "
     "'3 * 9223372036854775807' at row 1, '-9223372036854775808 * 922337203685...' at row 3"),
    ("qty - 2", "- at character 5 of 'qty - 2': 1 of 4 values overflow bigint: '-9223372036854775808 - 2' at row 3"),
    ("-qty", "- at character 1 of '-qty': 1 of 4 values overflow bigint: '--9223372036854775808' at row 3"),
    ("abs(qty)", "abs() at character 1 of 'abs(qty)': 1 of 4 values overflow bigint: 'abs(-9223372036854775808)' "
                 "at row 3"),
    ("amount * 10", "* at character 8 of 'amount * 10': 1 of 4 values overflow numeric(38,2): "
                    f"'{BIG[:35]}...' at row 1"),
    ("amount * 5 + amount * 9", "+ at character 12 of 'amount * 5 + amount * 9': 1 of 4 values overflow "
                                "numeric(38,2): '49999999999999999999999999999999999...' at row 1"),
]


@pytest.mark.parametrize(("expr", "message"), OVERFLOWS, ids=[o[0] for o in OVERFLOWS])
def test_overflow_fails_the_step_naming_the_expression_and_the_rows(expr: str, message: str) -> None:
    with pytest.raises(ConversionError) as caught:
        derive(expr)
    assert str(caught.value) == f"{WHERE}: {message}; {TAIL}"


def test_in_range_arithmetic_is_unchanged() -> None:
    assert derive("qty + 1") == [2, 4, None, -9223372036854775807]
    assert derive("qty / 0") == [None, None, None, None]
    assert derive("amount / 0") == [None, None, None, None]
    assert derive("amount + amount") == [Decimal("3.00"), Decimal("199999999999999999999999999999999999.98"),
                                         None, Decimal("0.00")]
    assert derive("-9223372036854775808 + 0 * qty") == [-9223372036854775808] * 2 + [None, -9223372036854775808]


def test_a_filter_with_an_overflow_fails_too() -> None:
    spec = TransformSpec.model_validate({"steps": [{"op": "filter", "expr": "qty * qty > 0"}]})
    with pytest.raises(ConversionError, match=r"steps\[0\] \(filter\): \* at character 5 of 'qty \* qty > 0'"):
        apply_transform(spec, {"main": FRAME.lazy()}, main="main", ctx=CTX).collect()


OUT_OF_RANGE = [
    ("qty * 99999999999999999999", 7,
     "the integer 99999999999999999999 is out of range: integers go from -9223372036854775808 to "
     "9223372036854775807; write a larger number with a decimal point, e.g. 1e20 as 100000000000000000000.0"),
    ("9223372036854775808", 1,
     "the integer 9223372036854775808 is out of range: integers go from -9223372036854775808 to "
     "9223372036854775807"),
    ("qty + 1" + "0" * 400, 7,
     "the integer 10000000000000000000...00000000 (401 characters) is out of range: integers go from "
     "-9223372036854775808 to 9223372036854775807; write a larger number with a decimal point, e.g. 1e20 as "
     "100000000000000000000.0"),
    ("amount * 1234567890123456789012345678901234567890.5", 10,
     "the number 1234567890123456789012345678901234567890.5 has 41 digits; numbers hold at most 38 "
     "(numeric(38,s), counting those after the point): drop digits after the point or scale the value"),
]


@pytest.mark.parametrize(("expr", "column", "reason"), OUT_OF_RANGE, ids=["int", "int-edge", "long", "decimal"])
def test_out_of_range_literals_are_refused_when_parsed(expr: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(expr, {"qty": "bigint", "amount": "numeric(38,2)"})
    assert (caught.value.position + 1, caught.value.reason) == (column, reason)
