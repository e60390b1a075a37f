"""apply_transform: every op on small frames, checked casts, determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from erp_platform._errors import ValidationFailed
from erp_platform.transforms import ConversionError, ExecutionContext, TransformSpec, apply_transform

CTX = ExecutionContext("acme", "orders_sync", "run-7", "shape_orders", datetime(2024, 6, 1, tzinfo=UTC))

ORDERS = pl.LazyFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "customer_id": [10, 20, 10, 30, 20],
        "status": ["open", "cancelled", "open", "shipped", "open"],
        "amount": ["10.50", "3.00", "7.25", "1.00", "2.50"],
        "ordered_on": ["2024-01-03", "2024-01-01", "2024-01-02", "2024-02-01", "2024-01-02"],
    }
)
CUSTOMERS = pl.LazyFrame({"id": [10, 20, 20, 40], "name": ["Acme", "Beta", "Beta II", "Delta"]})


def run(steps: list[dict[str, Any]], *, frames: dict[str, pl.LazyFrame] | None = None,
        ctx: ExecutionContext = CTX) -> pl.DataFrame:
    spec = TransformSpec.model_validate({"steps": steps})
    inputs = frames or {"orders": ORDERS, "customers": CUSTOMERS}
    return apply_transform(spec, inputs, main="orders", ctx=ctx).collect()


def test_select_rename_cast_filter_derive() -> None:
    out = run([
        {"op": "cast", "columns": {"amount": "numeric(12,2)", "ordered_on": "date"}},
        {"op": "filter", "expr": "status != 'cancelled' and amount > 2"},
        {"op": "derive", "column": "gross", "expr": "round(amount * 1.19, 2)"},
        {"op": "rename", "mapping": {"id": "order_id"}},
        {"op": "select", "columns": ["order_id", "gross", "ordered_on"]},
    ])
    assert out.schema == pl.Schema({"order_id": pl.Int64, "gross": pl.Decimal(38, 2), "ordered_on": pl.Date})
    assert out.rows() == [
        (1, Decimal("12.50"), date(2024, 1, 3)),
        (3, Decimal("8.63"), date(2024, 1, 2)),
        (5, Decimal("2.98"), date(2024, 1, 2)),
    ]


def test_derive_replaces_a_column_in_place() -> None:
    out = run([{"op": "derive", "column": "status", "expr": "upper(status)"}])
    assert out.columns == ["id", "customer_id", "status", "amount", "ordered_on"]
    assert out["status"].to_list() == ["OPEN", "CANCELLED", "OPEN", "SHIPPED", "OPEN"]


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("inner", [(1, "Acme"), (2, "Beta"), (2, "Beta II"), (3, "Acme"), (5, "Beta"), (5, "Beta II")]),
        ("left", [(1, "Acme"), (2, "Beta"), (2, "Beta II"), (3, "Acme"), (4, None), (5, "Beta"), (5, "Beta "
                                                                                                     "II")]),
    ],
)
def test_join_keeps_left_then_right_order(how: str, expected: list[tuple[int, str | None]]) -> None:
    out = run([
        {"op": "join", "with": "customers", "on": {"customer_id": "id"}, "how": how, "select": ["name"],
         "prefix": "customer_"},
        {"op": "select", "columns": ["id", "customer_name"]},
    ])
    assert out.rows() == expected


@pytest.mark.parametrize(("how", "ids"), [("semi", [1, 2, 3, 5]), ("anti", [4])])
def test_semi_and_anti_join_filter_the_left_side(how: str, ids: list[int]) -> None:
    out = run([{"op": "join", "with": "customers", "on": {"customer_id": "id"}, "how": how}])
    assert out.columns == ORDERS.collect_schema().names()
    assert out["id"].to_list() == ids


def test_join_default_keeps_all_right_columns_but_the_keys_and_casts_keys() -> None:
    customers = CUSTOMERS.with_columns(pl.col("id").cast(pl.Int32))
    out = run([{"op": "join", "with": "customers", "on": {"customer_id": "id"}, "prefix": "c_"}],
              frames={"orders": ORDERS, "customers": customers})
    assert out.columns == ["id", "customer_id", "status", "amount", "ordered_on", "c_name"]
    assert out.height == 6


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ({"keys": ["customer_id"]}, [3, 4, 5]),
        ({"keys": ["customer_id"], "keep": "first"}, [1, 2, 4]),
        ({"keys": ["customer_id"], "order_by": "ordered_on", "keep": "last"}, [1, 4, 5]),
        ({"keys": ["customer_id"], "order_by": "ordered_on", "keep": "first"}, [2, 3, 4]),
        ({"keys": ["customer_id", "status"]}, [2, 3, 4, 5]),
    ],
)
def test_deduplicate_keeps_input_order(op: dict[str, Any], expected: list[int]) -> None:
    out = run([{"op": "deduplicate", **op}])
    assert out["id"].to_list() == expected


def test_aggregate_sorts_by_group_keys() -> None:
    out = run([
        {"op": "cast", "columns": {"amount": "numeric(12,2)"}},
        {"op": "aggregate", "group_by": ["status"], "aggregations": [
            {"column": "orders", "fn": "count"},
            {"column": "total", "fn": "sum", "of": "amount"},
            {"column": "average", "fn": "mean", "of": "amount"},
            {"column": "smallest", "fn": "min", "of": "amount"},
            {"column": "largest", "fn": "max", "of": "id"},
            {"column": "first_id", "fn": "first", "of": "id"},
            {"column": "last_id", "fn": "last", "of": "id"},
            {"column": "customers", "fn": "count_distinct", "of": "customer_id"},
        ]},
    ])
    assert out.schema["total"] == pl.Decimal(38, 2)
    assert out.schema["average"] == pl.Decimal(38, 6)
    assert out.rows() == [
        ("cancelled", 1, Decimal("3.00"), Decimal("3.000000"), Decimal("3.00"), 2, 2, 2, 1),
        ("open", 3, Decimal("20.25"), Decimal("6.750000"), Decimal("2.50"), 5, 1, 5, 2),
        ("shipped", 1, Decimal("1.00"), Decimal("1.000000"), Decimal("1.00"), 4, 4, 4, 1),
    ]


def test_cast_op_fails_on_bad_values_with_rows() -> None:
    frame = ORDERS.with_columns(pl.Series("amount", ["1", "x", "2", "", "1e400x"]))
    with pytest.raises(ConversionError) as info:
        run([{"op": "cast", "columns": {"amount": "numeric(12,2)"}}], frames={"orders": frame})
    assert str(info.value) == (
        "transform orders_sync.shape_orders steps[0] (cast): column 'amount': 3 of 5 values cannot be "
        "converted "
        "to numeric(12,2): 'x' at row 1, '' at row 3, '1e400x' at row 4; rows are counted from 0. fix the "
        "source values, or make the step tolerate them (e.g. filter the rows out first, or derive with "
        "if()/coalesce())"
    )


def test_checked_cast_in_a_derive_fails_instead_of_nulls() -> None:
    with pytest.raises(ConversionError) as info:
        run([{"op": "derive", "column": "n", "expr": "cast(status as bigint)"}])
    assert str(info.value).startswith(
        "transform orders_sync.shape_orders steps[0] (derive): cast(... as bigint) at character 1 of "
        "'cast(status as bigint)': 5 of 5 values cannot be converted to bigint: 'open' at row 0,"
    )


def test_spec_that_does_not_fit_the_inputs_lists_every_problem() -> None:
    with pytest.raises(ValidationFailed) as info:
        run([{"op": "select", "columns": ["id", "nope"]}, {"op": "filter", "expr": "amount > 1"}])
    assert str(info.value) == (
        "transform orders_sync.shape_orders does not fit its inputs: 2 problems\n"
        "  - steps[0].columns[1]: unknown column 'nope'; available: id, customer_id, status, amount, "
        "ordered_on (received: 'nope')\n"
        "  - steps[1].expr: unknown column 'amount': available columns are id (at character 1) "
        "(received: 'amount > 1')"
    )


def test_same_inputs_and_context_give_identical_output() -> None:
    steps = [
        {"op": "derive", "column": "uid", "expr": "random_id()"},
        {"op": "derive", "column": "uid2", "expr": "random_id()"},
        {"op": "derive", "column": "seen_at", "expr": "now()"},
        {"op": "join", "with": "customers", "on": {"customer_id": "id"}, "how": "left"},
        {"op": "deduplicate", "keys": ["id"], "keep": "first"},
    ]
    first, second = run(steps), run(steps)
    assert first.equals(second)
    assert first["uid"].n_unique() == 5
    assert set(first["uid"]).isdisjoint(first["uid2"])
    assert first["seen_at"].unique().to_list() == [datetime(2024, 6, 1, tzinfo=UTC)]
    other_ctx = ExecutionContext("acme", "orders_sync", "run-8", "shape_orders", CTX.run_started_at)
    other = run(steps, ctx=other_ctx)
    assert set(first["uid"]).isdisjoint(other["uid"])


def test_struct_columns_travel_as_json_text() -> None:
    frame = pl.LazyFrame({"id": [1], "customer_id": [1], "lines": [[{"sku": "A", "qty": 2}]]})
    out = run([{"op": "select", "columns": ["id", "lines"]}], frames={"orders": frame})
    assert out.rows() == [(1, '[{"sku":"A","qty":2}]')]
