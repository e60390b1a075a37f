"""transform_schema: schema propagation without data, every problem with its path."""

from __future__ import annotations

from typing import Any

import pytest

from erp_platform._errors import Problem
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms import FIELD_KIND_TYPES, TransformSpec, schema_from_fields, transform_schema

ORDERS = schema_from_fields({"id": "integer", "customer_id": "integer", "status": "string",
                             "amount": "decimal",
                             "ordered_at": "datetime", "paid": "boolean", "lines": "json"})
CUSTOMERS = {"id": "bigint", "name": "text", "status": "text"}


def plan(steps: list[dict[str, Any]], **spec: Any) -> tuple[dict[str, str], list[Problem]]:
    model = TransformSpec.model_validate({"steps": steps, **spec})
    return transform_schema(model, {"orders": ORDERS, "customers": CUSTOMERS}, main="orders")


def test_field_kinds_map_to_logical_types() -> None:
    assert {k.value: v for k, v in FIELD_KIND_TYPES.items()} == {
        "string": "text", "integer": "bigint", "number": "double precision", "decimal": "numeric(38,10)",
        "boolean": "boolean", "date": "date", "datetime": "timestamptz", "json": "jsonb",
    }
    assert set(FIELD_KIND_TYPES) == set(FieldKind)


def test_schema_propagates_through_every_op() -> None:
    schema, problems = plan([
        {"op": "filter", "expr": "paid and amount > 0"},
        {"op": "derive", "column": "gross", "expr": "round(amount * 1.19, 2)"},
        {"op": "cast", "columns": {"customer_id": "integer"}},
        {"op": "join", "with": "customers", "on": {"customer_id": "id"}, "select": ["name"], "prefix": "c_"},
        {"op": "rename", "mapping": {"c_name": "customer"}},
        {"op": "deduplicate", "keys": ["id"], "order_by": "ordered_at"},
        {"op": "aggregate", "group_by": ["customer"], "aggregations": [
            {"column": "total", "fn": "sum", "of": "gross"}, {"column": "n", "fn": "count"},
            {"column": "avg_amount", "fn": "mean", "of": "amount"}, {"column": "last_at", "fn": "max",
                                                                   "of": "ordered_at"}]},
    ])
    assert problems == []
    assert schema == {"customer": "text", "total": "numeric(38,2)", "n": "bigint",
                      "avg_amount": "numeric(38,10)", "last_at": "timestamptz"}


AVAILABLE = "id, customer_id, status, amount, ordered_at, paid, lines"
BAD = [
    ([{"op": "select", "columns": ["id", "nope", "id"]}], [
        Problem("steps[0].columns[1]", f"unknown column 'nope'; available: {AVAILABLE}", "nope"),
        Problem("steps[0].columns[2]", "column 'id' is selected twice", "id"),
    ]),
    ([{"op": "derive", "column": "x", "expr": "amount + 'x'"}], [
        Problem("steps[0].expr", "operator + needs numbers, got numeric(38,10) and text; cast the text with "
                "cast(x as numeric(12,2)) or use || to join text (at character 8)", "amount + 'x'"),
    ]),
    ([{"op": "filter", "expr": "amount"}], [
        Problem("steps[0].expr", "a filter needs a boolean expression, got numeric(38,10); compare the "
                                 "value, "
                "e.g. amount > 0", "amount"),
    ]),
    ([{"op": "derive", "column": "x", "expr": "lower(123)"}, {"op": "filter", "expr": "x = 'a'"},
      {"op": "derive", "column": "y", "expr": "lower(lines)"}], [
        Problem("steps[0].expr", "lower() needs text, got bigint (at character 7)", "lower(123)"),
        Problem("steps[2].expr", "lower() needs text, got jsonb (at character 7)", "lower(lines)"),
    ]),
    ([{"op": "rename", "mapping": {"status": "id", "nope": "x"}}], [
        Problem("steps[0].mapping.nope", f"unknown column 'nope'; available: {AVAILABLE}", "nope"),
        Problem("steps[0].mapping.status", "renaming 'status' to 'id' clashes with another column of that "
                "name; rename or drop that column first", "id"),
    ]),
    ([{"op": "cast", "columns": {"ordered_at": "bigint", "nope": "text"}}], [
        Problem("steps[0].columns.ordered_at", "cannot cast timestamptz to bigint: timestamptz does not "
                                               "convert "
                "to bigint; choose a timestamptz-compatible target type or text", "bigint"),
        Problem("steps[0].columns.nope", f"unknown column 'nope'; available: {AVAILABLE}", "nope"),
    ]),
    ([{"op": "join", "with": "products", "on": {"id": "id"}}], [
        Problem("steps[0].with", "unknown input 'products': this step's inputs are orders, customers; add it "
                "to depends_on", "products"),
    ]),
    ([{"op": "join", "with": "customers", "on": {"status": "id", "nope": "id", "customer_id": "x"}}], [
        Problem("steps[0].on.status", "cannot join text 'status' with bigint 'id'; cast one side first (a "
                                      "cast "
                "step)", "id"),
        Problem("steps[0].on.nope", f"unknown left column 'nope'; available: {AVAILABLE}", "nope"),
        Problem("steps[0].on.customer_id", "unknown column 'x' in 'customers'; available: id, name, status",
                "x"),
        Problem("steps[0].with", "column 'status' exists on both sides of the join; set a prefix or select "
                "fewer right-side columns", "status"),
    ]),
    ([{"op": "join", "with": "customers", "on": {"customer_id": "id"}, "how": "semi", "select": ["name"]}], [
        Problem("steps[0].select", "a semi join keeps only the left columns; remove select and prefix",
                ["name"]),
    ]),
    ([{"op": "deduplicate", "keys": ["nope"], "order_by": "lines"}], [
        Problem("steps[0].keys[0]", f"unknown column 'nope'; available: {AVAILABLE}", "nope"),
        Problem("steps[0].order_by", "cannot order by a jsonb column", "lines"),
    ]),
    ([{"op": "aggregate", "group_by": ["status"], "aggregations": [
        {"column": "t", "fn": "sum", "of": "status"}, {"column": "status", "fn": "count"},
        {"column": "m", "fn": "max"}, {"column": "z", "fn": "min", "of": "nope"}]}], [
        Problem("steps[0].aggregations[0].fn", "sum does not apply to text column 'status'", "sum"),
        Problem("steps[0].aggregations[1].column", "output column 'status' is already produced by this "
                "aggregate; choose another name", "status"),
        Problem("steps[0].aggregations[2].of", "max needs `of`: the column to aggregate", None),
        Problem("steps[0].aggregations[3].of", f"unknown column 'nope'; available: {AVAILABLE}", "nope"),
    ]),
]


@pytest.mark.parametrize(("steps", "expected"), BAD, ids=[s[0][0]["op"] + str(i) for i, s in enumerate(BAD)])
def test_problems_have_paths_and_received_values(steps: list[dict[str, Any]],
                                                 expected: list[Problem]) -> None:
    _, problems = plan(steps)
    assert problems == expected


def test_main_input_must_be_an_input() -> None:
    spec = TransformSpec.model_validate({"input": "orders", "steps": []})
    assert transform_schema(spec, {"customers": CUSTOMERS}, main="orders") == ({}, [
        Problem("input", "main input 'orders' is not among this step's inputs (customers); add it to "
                         "depends_on",
                "orders"),
    ])
    assert transform_schema(spec, {"orders": ORDERS, "customers": CUSTOMERS}, main="customers")[1] == [
        Problem("input", "the main input is 'customers' but the spec names 'orders'; make them agree",
                "orders"),
    ]
