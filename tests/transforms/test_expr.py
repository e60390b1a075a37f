"""The expression language: parse, type-check and run on a small frame; bad input gives exact messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from erp_platform.transforms import (
    ExecutionContext,
    ExpressionError,
    compile_expression,
    infer_type,
    parse_expression,
    schema_of_frame,
)

FRAME = pl.DataFrame(
    {
        "amount": [Decimal("10.00"), Decimal("2.50"), None],
        "qty": [3, 0, 2],
        "name": [" Ab ", "cd", None],
        "status": ["open", "cancelled", "shipped"],
        "ordered_on": [date(2024, 1, 5), date(2024, 3, 1), None],
        "created_at": [datetime(2024, 5, 17, 13, 5, tzinfo=UTC), None,
                       datetime(2023, 12, 31, 23, 59, tzinfo=UTC)],
        "paid": [True, False, None],
        "ratio": [0.5, 1.25, -2.0],
        "code": ["12", "x", None],
    },
    schema_overrides={"amount": pl.Decimal(12, 2)},
)
SCHEMA = schema_of_frame(FRAME)
CTX = ExecutionContext("acme", "orders_sync", "run-1", "transform_orders", datetime(2024, 6, 1, 8, 30))


def evaluate(text: str) -> tuple[str, list[object]]:
    compiled = compile_expression(text, SCHEMA, ctx=CTX)
    return compiled.type, FRAME.with_columns(compiled.expr.alias("out"))["out"].to_list()


VALID = [
    ("amount * 2", "numeric(38,2)", [Decimal("20.00"), Decimal("5.00"), None]),
    ("round(amount * 1.19, 2)", "numeric(38,2)", [Decimal("11.90"), Decimal("2.98"), None]),
    ("qty + 1", "bigint", [4, 1, 3]),
    ("qty / 2", "double precision", [1.5, 0.0, 1.0]),
    ("amount / qty", "numeric(38,6)", [Decimal("3.333333"), None, None]),
    ("-7 % 3", "bigint", [-1, -1, -1]),
    ("qty % 2", "bigint", [1, 0, 0]),
    ("-qty", "bigint", [-3, 0, -2]),
    ("ratio * qty", "double precision", [1.5, 0.0, -4.0]),
    ("abs(ratio)", "double precision", [0.5, 1.25, 2.0]),
    ("floor(ratio)", "double precision", [0.0, 1.0, -2.0]),
    ("ceil(amount)", "numeric(38,0)", [Decimal("10"), Decimal("3"), None]),
    ("round(2.5)", "numeric(38,0)", [Decimal("3")] * 3),
    ("round(-2.5)", "numeric(38,0)", [Decimal("-3")] * 3),
    ("status != 'cancelled' and qty > 0", "boolean", [True, False, True]),
    ("status = 'open' or paid", "boolean", [True, False, None]),
    ("not paid", "boolean", [False, True, None]),
    ("qty <> 0", "boolean", [True, False, True]),
    ("qty between 1 and 3", "boolean", [True, False, True]),
    ("qty not between 1 and 2", "boolean", [True, True, False]),
    ("status in ('open', 'shipped')", "boolean", [True, False, True]),
    ("status not in ('open')", "boolean", [False, True, True]),
    ("amount is null", "boolean", [False, False, True]),
    ("name is not null", "boolean", [True, True, False]),
    ("lower(trim(name))", "text", ["ab", "cd", None]),
    ("upper(status) || '!'", "text", ["OPEN!", "CANCELLED!", "SHIPPED!"]),
    ("name || qty", "text", [" Ab 3", "cd0", None]),
    ("concat(name, '-', qty)", "text", [" Ab -3", "cd-0", "-2"]),
    ("length(status)", "bigint", [4, 9, 7]),
    ("substr(status, 2, 3)", "text", ["pen", "anc", "hip"]),
    ("substr(status, 3)", "text", ["en", "ncelled", "ipped"]),
    ("coalesce(amount, 0)", "numeric(38,2)", [Decimal("10.00"), Decimal("2.50"), Decimal("0.00")]),
    ("coalesce(name, status)", "text", [" Ab ", "cd", "shipped"]),
    ("if(qty > 1, 'many', 'few')", "text", ["many", "few", "many"]),
    ("ordered_on >= '2024-02-01'", "boolean", [False, True, None]),
    ("created_at < '2024-01-01T00:00:00Z'", "boolean", [False, None, True]),
    ("year(ordered_on)", "integer", [2024, 2024, None]),
    ("month(created_at)", "integer", [5, None, 12]),
    ("day(ordered_on)", "integer", [5, 1, None]),
    ("date_trunc('month', ordered_on)", "date", [date(2024, 1, 1), date(2024, 3, 1), None]),
    ("date_trunc('year', created_at)", "timestamptz",
     [datetime(2024, 1, 1, tzinfo=UTC), None, datetime(2023, 1, 1, tzinfo=UTC)]),
    ("to_date('2024-02-29')", "date", [date(2024, 2, 29)] * 3),
    ("to_timestamp('2024-02-29T10:00:00+02:00')", "timestamptz", [datetime(2024, 2, 29, 8, tzinfo=UTC)] * 3),
    ("to_date(created_at)", "date", [date(2024, 5, 17), None, date(2023, 12, 31)]),
    ("now()", "timestamptz", [datetime(2024, 6, 1, 8, 30, tzinfo=UTC)] * 3),
    ("cast(code as bigint) is null", "boolean", None),  # 'x' makes the check fail: see test_checked_cast
    ("cast(qty as text)", "text", ["3", "0", "2"]),
    ("cast(qty as numeric(10,2))", "numeric(10,2)", [Decimal("3.00"), Decimal("0.00"), Decimal("2.00")]),
    ("cast(paid as text)", "text", ["true", "false", None]),
    ("'it''s'", "text", ["it's"] * 3),
    ("null", "unknown", [None] * 3),
    ("TRUE AND NOT false", "boolean", [True] * 3),
    ("LOWER(status)", "text", ["open", "cancelled", "shipped"]),
    ("(qty + 1) * 2", "bigint", [8, 2, 6]),
    ("qty + 1 * 2", "bigint", [5, 2, 4]),
    ("Amount > 5", "boolean", [True, False, None]),  # a bare name matches case-insensitively when unique
    ('"qty" + field(\'qty\')', "bigint", [6, 0, 4]),
    ("1 = 1 and 2 > 1 or false", "boolean", [True] * 3),
]


@pytest.mark.parametrize(("text", "type_", "values"), VALID, ids=[v[0] for v in VALID])
def test_valid_expression(text: str, type_: str, values: list[object] | None) -> None:
    assert infer_type(text, SCHEMA) == type_
    if values is not None:
        assert evaluate(text) == (type_, values)


FUNCTIONS = ("lower, upper, trim, length, substr, concat, coalesce, round, abs, floor, ceil, if, to_date, "
             "to_timestamp, year, month, day, date_trunc, now, random_id, cast, field")
NESTING = "the expression nests too deeply (more than 100 levels): split it into several derive steps"
INVALID = [
    ("amount + 'x'", 8, "operator + needs numbers, got numeric(12,2) and text; cast the text with "
                        "cast(x as numeric(12,2)) or use || to join text"),
    ("lower(123)", 7, "lower() needs text, got bigint"),
    ("nope + 1", 1, "unknown column 'nope': available columns are amount, qty, name, status, ordered_on, "
                    "created_at, paid, ratio, code"),
    ("substr(name)", 1, "substr() takes 2 to 3 arguments, got 1"),
    ("now(1)", 1, "now() takes 0 arguments, got 1"),
    ("coalesce()", 1, "coalesce() takes 1 or more arguments, got 0"),
    ("lower(name, 2)", 1, "lower() takes 1 argument, got 2"),
    ("eval('1')", 1, f"unknown function 'eval': use one of {FUNCTIONS}"),
    ("__import__('os')", 1, f"unknown function '__import__': use one of {FUNCTIONS}"),
    ("name.upper()", 5, "unexpected character '.': expected a column, a literal, an operator "
                        "(+ - * / % || = != < <= > >=), ( ) or ,"),
    ("amount > ", 10, "the expression ends too early: expected a column, a literal, a function call or ("),
    ("(qty + 1", 9, "expected a closing ), got the end of the expression"),
    ("qty + 1)", 8, "unexpected ')': expected an operator or the end of the expression"),
    ("qty qty", 5, "unexpected 'qty': expected an operator or the end of the expression (missing operator?)"),
    ("'open", 1, "unterminated text literal: close it with ' (write '' for a quote inside the text)"),
    ('status = "open"', 10, "unknown column \"open\" (text is written in single quotes: 'open'): available "
                            "columns are amount, qty, name, status, ordered_on, created_at, paid, ratio, code"),
    ('"Amount" > 0', 1, "unknown column \"Amount\" (did you mean amount?): available columns are amount, qty, "
                        "name, status, ordered_on, created_at, paid, ratio, code"),
    ("qty == 1", 5, "use = to compare values (not ==)"),
    ("1 < qty < 3", 9, "comparisons cannot be chained: combine them with and, e.g. a < b and b < c"),
    ("qty is 1", 8, "expected null or not null after is, got '1'"),
    ("qty not like 'a'", 9, "expected in or between after not, got 'like'"),
    ("qty in 1", 8, "expected ( and a list of values after in, got '1'"),
    ("qty between 1", 14, "expected and between the bounds of between, got the end of the expression"),
    ("1.", 2, "a decimal point must be followed by digits, e.g. 1.5"),
    ("12abc", 3, "a number cannot be followed by letters; put an operator between them"),
    ("and", 1, "unexpected keyword 'and': expected a column, a literal, a function call or ("),
    ("", 1, "the expression is empty: write one, e.g. amount > 0"),
    ("qty and paid", 1, "and needs a boolean, got bigint; compare it, e.g. x > 0"),
    ("not qty", 5, "not needs a boolean, got bigint; compare it, e.g. x > 0"),
    ("-status", 1, "unary - needs a number, got text"),
    ("status > 1", 8, "cannot compare text with bigint; cast one side, e.g. cast(x as text)"),
    ("paid < true", 6, "operator < cannot order boolean values; use = or !="),
    ("ordered_on = '2024-13-01'", 14, "'2024-13-01' is not a valid date: write it as YYYY-MM-DD"),
    ("qty in ('a', 'b')", 5, "in: the list (text) does not match the bigint value"),
    ("coalesce(qty, name)", 1, "values of types bigint, text cannot be combined; cast them to one type "
                               "first, e.g. cast(x as text)"),
    ("round(amount, qty)", 15, "round() takes the number of decimals as an integer literal 0 to 18, "
                               "e.g. round(amount, 2)"),
    ("date_trunc('fortnight', created_at)", 12,
     "date_trunc() takes the unit as a text literal: one of 'year', 'quarter', 'month', 'week', 'day', "
     "'hour', 'minute', 'second'"),
    ("year(status)", 6, "year() needs date or timestamptz, got text"),
    ("cast(ordered_on as bigint)", 1, "cast(... as bigint): cannot convert date to bigint: date does not "
                                      "convert to bigint; choose a date-compatible target type or text"),
    ("cast(amount as boolean)", 1,
     "cast(... as boolean): cannot convert numeric(12,2) to boolean: only text and integers (0/1) convert "
     "to boolean; derive a boolean first, e.g. amount > 0"),
    ("cast(qty as money)", 13, "unknown type 'money': use text, bigint, integer, double precision, boolean, "
                               "date, timestamptz, jsonb or numeric(P,S)"),
    ("cast(qty)", 9, "expected as and a type, e.g. cast(amount as numeric(12,2)), got ')'"),
    ("if(qty, 1, 2)", 4, "the first argument of if() needs a boolean, got bigint; compare it, e.g. x > 0"),
    ("qty; drop table x", 4, "unexpected character ';': expected a column, a literal, an operator "
                             "(+ - * / % || = != < <= > >=), ( ) or ,"),
]


@pytest.mark.parametrize(("text", "column", "reason"), INVALID, ids=[v[0] or "empty" for v in INVALID])
def test_invalid_expression(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, SCHEMA, ctx=CTX)
    err = info.value
    assert (err.position + 1, err.reason) == (column, reason)
    caret = " " * (column - 1) + "^"
    assert str(err) == f"invalid expression at character {column}: {reason}\n  {text}\n  {caret}"
    assert err.short == f"{reason} (at character {column})"


def test_error_message_shows_the_expression_with_a_caret() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("round(amount, 2) + 'x'", SCHEMA)
    assert str(info.value) == (
        "invalid expression at character 18: operator + needs numbers, got numeric(38,2) and text; cast the "
        "text with cast(x as numeric(12,2)) or use || to join text\n"
        "  round(amount, 2) + 'x'\n"
        "                   ^"
    )


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("(" * 10_000 + "1" + ")" * 10_000, 2001,
         "the expression is 20001 characters long; the limit is 2000: split it into several derive steps"),
        ("(" * 150 + "1" + ")" * 150, 101, NESTING),
        ("-" * 500 + "1", 101, NESTING),
        ("not " * 300 + "paid", 401, NESTING),
        ("+".join(["qty"] * 400), 1201, NESTING),
    ],
    ids=["10000-deep-parentheses", "150-deep-parentheses", "500-minus", "300-not", "400-term-sum"],
)
def test_limits_fail_cleanly(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert (info.value.position + 1, info.value.reason) == (column, reason)


def test_long_flat_sum_within_limits_runs() -> None:
    compiled = compile_expression("+".join(["qty"] * 90), SCHEMA, ctx=CTX)
    assert FRAME.select(compiled.expr)["qty"].to_list() == [270, 0, 180]


def test_checked_cast_in_expression_is_recorded() -> None:
    compiled = compile_expression("cast(code as bigint)", SCHEMA, ctx=CTX)
    assert compiled.type == "bigint"
    assert [c.subject for c in compiled.checks] == [
        "cast(... as bigint) at character 1 of 'cast(code as bigint)'"
    ]


def test_random_id_is_deterministic_per_run_step_and_row() -> None:
    first = compile_expression("random_id()", SCHEMA, ctx=CTX)
    again = compile_expression("random_id()", SCHEMA, ctx=CTX)
    other_site = compile_expression("random_id()", SCHEMA, ctx=CTX, first_random_site=1)
    other_run = compile_expression(
        "random_id()", SCHEMA, ctx=ExecutionContext("acme", "orders_sync", "run-2", "transform_orders",
                                                     CTX.run_started_at)
    )
    ids = FRAME.select(first.expr.alias("id"))["id"].to_list()
    assert ids == FRAME.select(again.expr.alias("id"))["id"].to_list()
    assert len(set(ids)) == 3
    assert all(len(i) == 36 and i[14] == "4" for i in ids)
    assert set(ids).isdisjoint(FRAME.select(other_site.expr.alias("id"))["id"].to_list())
    assert set(ids).isdisjoint(FRAME.select(other_run.expr.alias("id"))["id"].to_list())
