"""Mappings: casts to every column type, bad values fail loudly, type rule, typed frames from records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from erp_platform._errors import InvalidInputError, Problem, ValidationFailed
from erp_platform.transforms import (
    ConversionError,
    MappingSpec,
    apply_mapping,
    check_mapping,
    conversion_rule,
    frame_from_records,
)


def mapping(*columns: tuple[str, str, str] | tuple[str, str, str, bool]) -> MappingSpec:
    return MappingSpec.model_validate({"columns": [
        {"source": c[0], "target": c[1], "type": c[2], "nullable": c[3] if len(c) > 3 else True}
        for c in columns
    ]})


CASTS: list[tuple[list[object], str, list[object]]] = [
    (["a", "", None], "text", ["a", "", None]),
    ([" 12 ", "-3", None], "bigint", [12, -3, None]),
    (["7", "2147483647"], "integer", [7, 2147483647]),
    (["1.5", "1e3", "-0.25"], "double precision", [1.5, 1000.0, -0.25]),
    (["1.005", "-1.005", "12", "0.004"], "numeric(12,2)",
     [Decimal("1.01"), Decimal("-1.01"), Decimal("12.00"),
                                                           Decimal("0.00")]),
    (["TRUE", "f", "yes", "0", "On"], "boolean", [True, False, True, False, True]),
    (["2024-02-29", "2024-03-01T23:30:00+02:00"], "date", [date(2024, 2, 29), date(2024, 3, 1)]),
    (["2019-03-11T17:53:36.230000+00:00", "2019-03-11T17:53:36Z", "2019-03-11 10:00:00", "2019-03-11"],
     "timestamptz", [datetime(2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC),
                     datetime(2019, 3, 11, 17, 53, 36, tzinfo=UTC), datetime(2019, 3, 11, 10, tzinfo=UTC),
                     datetime(2019, 3, 11, tzinfo=UTC)]),
    (['{"a": 1}', "[1, 2]", "3", None], "jsonb", ['{"a": 1}', "[1, 2]", "3", None]),
    ([1, 2**40], "text", ["1", "1099511627776"]),
    ([1, 0, None], "boolean", [True, False, None]),
    ([2.0, -3.0], "bigint", [2, -3]),
    ([1.005, 2.5], "numeric(5,1)", [Decimal("1.0"), Decimal("2.5")]),
    ([date(2024, 1, 2)], "timestamptz", [datetime(2024, 1, 2, tzinfo=UTC)]),
    ([datetime(2024, 1, 2, 23, tzinfo=UTC)], "date", [date(2024, 1, 2)]),
    ([True, None], "text", ["true", None]),
    ([datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)], "text", ["2024-01-02T03:04:05.000000+00:00"]),
]


@pytest.mark.parametrize(("values", "type_", "expected"), CASTS,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASTS)])
def test_mapping_casts_to_the_target_type(values: list[object], type_: str, expected: list[object]) -> None:
    out = apply_mapping(pl.DataFrame({"src": values}, strict=False), mapping(("src", "dst", type_)))
    assert out.columns == ["dst"]
    assert out["dst"].to_list() == expected


BAD_VALUES: list[tuple[list[object], str, str]] = [
    (["1", "x", "2", "1.5"], "bigint", "2 of 4 values cannot be converted to bigint: 'x' at row 1, '1.5' at "
                                       "row 3"),
    (["123456789012.5"], "numeric(12,2)", "1 of 1 values cannot be converted to numeric(12,2): "
                                          "'123456789012.5' "
                                          "at row 0"),
    (["3000000000"], "integer", "1 of 1 values cannot be converted to integer: '3000000000' at row 0"),
    (["maybe"], "boolean", "1 of 1 values cannot be converted to boolean: 'maybe' at row 0"),
    (["2024-02-30", None, "yesterday"], "date", "2 of 3 values cannot be converted to date: '2024-02-30' at "
                                                "row 0, "
                                                "'yesterday' at row 2"),
    (["{oops"], "jsonb", "1 of 1 values cannot be converted to jsonb: '{oops' at row 0"),
    ([2.5], "bigint", "1 of 1 values cannot be converted to bigint: 2.5 at row 0"),
    ([2], "boolean", "1 of 1 values cannot be converted to boolean: 2 at row 0"),
    (["a\x00b"], "text", "1 of 1 values cannot be converted to text: 'a\\x00b' at row 0"),
    ([str(i) for i in range(10)] + ["x"] * 7, "numeric(3,0)",
     "7 of 17 values cannot be converted to numeric(3,0): 'x' at row 10, 'x' at row 11, 'x' at row 12, "
     "'x' at row 13, 'x' at row 14 (showing the first 5)"),
]


@pytest.mark.parametrize(("values", "type_", "detail"), BAD_VALUES,
                         ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD_VALUES)])
def test_bad_values_fail_with_column_type_samples_and_rows(values: list[object], type_: str,
                                                           detail: str) -> None:
    with pytest.raises(ConversionError) as info:
        apply_mapping(pl.DataFrame({"src": values}), mapping(("src", "dst", type_)), where="load into t")
    subject = "column 'src' (mapped to 'dst')" + (" (NUL character)" if "x00" in detail else "")
    assert str(info.value) == (
        f"load into t: {subject}: {detail}; rows are counted from 0. fix the values in the ERP, map the "
        "field to "
        "a text column, or convert it in a transform step first (e.g. derive with if() or coalesce())"
    )


def test_missing_source_lists_the_available_columns() -> None:
    with pytest.raises(InvalidInputError) as info:
        apply_mapping(pl.DataFrame({"id": [1], "name": ["a"]}),
                      mapping(("id", "id", "bigint"), ("amount", "amount", "numeric(12,2)"),
                              ("qty", "q", "integer")),
                      where="load into t")
    assert str(info.value) == ("load into t: source columns 'amount', 'qty' not in the data; available "
                               "columns (exact names): id, name; fix the mapping's source or the extract's "
                               "fields")


def test_non_nullable_column_with_nulls_is_refused() -> None:
    with pytest.raises(InvalidInputError) as info:
        apply_mapping(pl.DataFrame({"id": [1, None, None]}), mapping(("id", "id", "bigint", False)),
                      where="m")
    assert str(info.value) == (
        "m: column 'id' is declared nullable: false but 2 of 3 rows have no value (rows 1, 2; counted from "
        "0); "
        "fill it upstream (e.g. derive with coalesce()) or filter those rows out"
    )


def test_check_mapping_reports_every_problem() -> None:
    source = {"id": "bigint", "amount": "numeric(38,10)", "ordered_at": "timestamptz", "lines": "jsonb",
              "code": "text"}
    spec = mapping(("id", "id", "bigint"), ("amount", "paid", "boolean"), ("ordered_at", "amount", "bigint"),
                   ("lines", "lines", "text"), ("code", "id", "integer"), ("nope", "x", "text"))
    assert check_mapping(spec, source) == [
        Problem("columns[1].type", "cannot map numeric(38,10) field 'amount' to boolean: only text and "
                                   "integers "
                "(0/1) convert to boolean; derive a boolean first, e.g. amount > 0", "boolean"),
        Problem("columns[2].type", "cannot map timestamptz field 'ordered_at' to bigint: timestamptz does "
                                   "not "
                "convert to bigint; choose a timestamptz-compatible target type or text", "bigint"),
        Problem("columns[4].target", "target column 'id' is mapped twice (also by columns[0]); map it "
                                     "once", "id"),
        Problem("columns[5].source", "unknown source field 'nope'; the input's fields (exact names): id, "
                                     "amount, ordered_at, lines, code; write the source exactly as listed",
                "nope"),
    ]


def test_reserved_target_names_are_refused_by_the_spec() -> None:
    with pytest.raises(ValueError, match=r"'_erp_lines' starts with a reserved prefix \(pg_ or _erp_\)"):
        mapping(("lines", "_erp_lines", "jsonb"))


@pytest.mark.parametrize(
    ("source", "target", "rule"),
    [("text", "bigint", "checked"), ("integer", "bigint", "safe"), ("bigint", "integer", "checked"),
     ("numeric(12,2)", "numeric(18,4)", "safe"), ("numeric(18,4)", "numeric(12,2)", "checked"),
     ("numeric(38,10)", "boolean", "refused"), ("bigint", "boolean", "checked"),
     ("date", "bigint", "refused"),
     ("jsonb", "text", "safe"), ("jsonb", "bigint", "refused"), ("text", "jsonb", "checked"),
     ("double precision", "numeric(12,2)", "checked"), ("bigint", "numeric(38,0)", "safe"),
     ("date", "timestamptz", "safe"), ("unknown", "date", "same")],
)
def test_conversion_rule(source: str, target: str, rule: str) -> None:
    assert conversion_rule(source, target) == rule


def test_frame_from_records_types_fields_by_kind() -> None:
    records: list[dict[str, Any]] = [
        {"id": 1, "amount": "10.50", "at": "2019-03-11T17:53:36.230000+00:00", "on": "2024-01-02", "ok": True,
         "n": 1, "meta": {"a": [1, 2]}, "name": "x", "extra": "dropped"},
        {"id": "2", "amount": None, "at": None, "on": None, "ok": None, "n": 2.5, "meta": None, "name": None},
    ]
    fields = {"id": "integer", "amount": "decimal", "at": "datetime", "on": "date", "ok": "boolean",
              "n": "number", "meta": "json", "name": "string"}
    frame = frame_from_records(records, fields)
    assert frame.schema == pl.Schema({"id": pl.Int64, "amount": pl.Decimal(38, 10),
                                      "at": pl.Datetime("us", "UTC"),
                                      "on": pl.Date, "ok": pl.Boolean, "n": pl.Float64, "meta": pl.String,
                                      "name": pl.String})
    assert frame.rows() == [
        (1, Decimal("10.5"), datetime(2019, 3, 11, 17, 53, 36, 230000, tzinfo=UTC), date(2024, 1, 2), True,
         1.0,
         '{"a":[1,2]}', "x"),
        (2, None, None, None, None, 2.5, None, None),
    ]
    with pytest.raises(ConversionError) as info:
        frame_from_records([{"at": "yesterday"}], {"at": "datetime"}, where="page 3 of orders")
    assert str(info.value).startswith("page 3 of orders: field 'at' (datetime): 1 of 1 values cannot be "
                                      "converted "
                                      "to timestamptz: 'yesterday' at row 0")


def test_refused_conversion_at_apply_time_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as info:
        apply_mapping(pl.DataFrame({"d": [date(2024, 1, 1)]}), mapping(("d", "d", "bigint")), where="m")
    assert str(info.value) == (
        "m: the mapping does not fit the data: 1 problem\n  - columns[0].type: cannot map date field 'd' to "
        "bigint: date does not convert to bigint; choose a date-compatible target type or text (received: "
        "'bigint')"
    )


def test_records_without_declared_fields_are_refused_not_dropped() -> None:
    """A frame without columns has no rows: records must never vanish that way (a silent zero)."""
    with pytest.raises(InvalidInputError) as info:
        frame_from_records([{"ContactID": "c-1", "Name": "Acme"}, {"ContactID": "c-2"}], {}, where="page 1")
    assert str(info.value) == (
        "page 1: 2 records arrived but no fields are declared for them (the first record has keys ContactID, "
        "Name): declare the entity's fields in the SDK"
    )
    assert frame_from_records([], {}).height == 0
