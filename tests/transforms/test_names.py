"""ERP field names exactly as given: default column names, expressions quoting any name, transforms and
mappings over frames whose columns are named like real ERP records (``ContactID``, ``@odata.etag``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from erp_platform.transforms import (
    ExecutionContext,
    ExpressionError,
    MappingSpec,
    TransformSpec,
    apply_mapping,
    apply_transform,
    check_mapping,
    column_name,
    column_names,
    compile_expression,
    complete_mapping,
    derive_mapping,
    expression_name,
    schema_of_frame,
    transform_key,
)

CTX = ExecutionContext("acme", "contacts_sync", "run-1", "shape", datetime(2024, 6, 1, tzinfo=UTC))

CONTACTS = pl.DataFrame(
    {
        "ContactID": ["c-1", "c-2", "c-3"],
        "Name": ["Acme", "Beta", "Gamma"],
        "name": ["acme gmbh", "beta ltd", None],
        "@odata.etag": ['W/"1"', 'W/"2"', 'W/"3"'],
        "lastModifiedDateTime": [datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC), None],
        "Customer Name": ["a", "b", "c"],
        "and": [1, 2, 3],
        "Balance": [Decimal("10.50"), Decimal("-2.00"), Decimal("0.00")],
    },
    schema_overrides={"Balance": pl.Decimal(12, 2)},
)
SCHEMA = schema_of_frame(CONTACTS)


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("ContactID", "contact_id"),
        ("@odata.etag", "odata_etag"),
        ("lastModifiedDateTime", "last_modified_date_time"),
        ("UpdatedDateUTC", "updated_date_utc"),
        ("SalesOrderItem", "sales_order_item"),
        ("HTTPStatus", "http_status"),
        ("Customer Name", "customer_name"),
        ("__count", "count"),
        ("_erp_run_id", "erp_run_id"),
        ("pg_class", "col_pg_class"),
        ("1099Box", "col_1099_box"),
        ("Straße", "strasse"),
        ("Größe", "grosse"),
        ("@@", "col"),
        ("id", "id"),
        ("x" * 80, "x" * 63),
    ],
)
def test_default_column_name(field: str, column: str) -> None:
    assert column_name(field) == column


def test_colliding_names_get_numbered_deterministically() -> None:
    assert column_names(["Name", "name", "NAME"]) == {"Name": "name", "name": "name_2", "NAME": "name_3"}
    # a field that yields `name_2` by itself keeps it; the collision takes the next free number
    assert column_names(["Name", "name", "name_2"]) == {"Name": "name", "name": "name_3", "name_2": "name_2"}
    assert column_names(["Name", "name"], taken=["name"]) == {"Name": "name_2", "name": "name_3"}
    long = ["A" * 70, "a" * 70]
    assert [len(c) for c in column_names(long).values()] == [63, 63]
    assert list(column_names(long).values()) == ["a" * 63, "a" * 61 + "_2"]


@pytest.mark.parametrize(
    ("field", "written"),
    [("amount", "amount"), ("ContactID", '"ContactID"'), ("@odata.etag", '"@odata.etag"'), ("and", '"and"'),
     ('say "hi"', '"say ""hi"""'), ("Customer Name", '"Customer Name"')],
)
def test_expression_name_reads_back_as_the_field(field: str, written: str) -> None:
    assert expression_name(field) == written
    assert compile_expression(f"{written} is null", {field: "text"}).type == "boolean"


def evaluate(text: str) -> list[Any]:
    compiled = compile_expression(text, SCHEMA, ctx=CTX)
    return CONTACTS.select(compiled.expr.alias("out"))["out"].to_list()


VALID = [
    ('"ContactID" = \'c-2\'', [False, True, False]),
    ("ContactID = 'c-2'", [False, True, False]),  # bare: exact match
    ("contactid = 'c-2'", [False, True, False]),  # bare: the one column equal to it ignoring case
    ('"Name" || \'/\' || name', ["Acme/acme gmbh", "Beta/beta ltd", None]),
    ("field('@odata.etag')", ['W/"1"', 'W/"2"', 'W/"3"']),
    ('field("@odata.etag") = \'W/"2"\'', [False, True, False]),
    ('"@odata.etag"', ['W/"1"', 'W/"2"', 'W/"3"']),
    ('"Customer Name"', ["a", "b", "c"]),
    ('"and" + 1', [2, 3, 4]),
    ("lastModifiedDateTime >= '2024-02-01'", [False, True, None]),
    ('round("Balance" * 2, 1)', [Decimal("21.0"), Decimal("-4.0"), Decimal("0.0")]),
]


@pytest.mark.parametrize(("text", "values"), VALID, ids=[v[0] for v in VALID])
def test_erp_names_in_expressions(text: str, values: list[Any]) -> None:
    assert evaluate(text) == values


AVAILABLE = ('"ContactID", "Name", name, "@odata.etag", "lastModifiedDateTime", "Customer Name", "and", '
             '"Balance"')
INVALID = [
    ("NAME = 'x'", 1, "'NAME' matches several columns that differ only in case: write the one you mean exactly, "
                      'in double quotes: "Name" or name'),
    ('"contactid" = 1', 1, f'unknown column "contactid" (did you mean "ContactID"?): available columns are '
                           f"{AVAILABLE}"),
    ("ContactIdentifier = 1", 1, "unknown column 'ContactIdentifier' (did you mean \"ContactID\"?): available "
                                 f"columns are {AVAILABLE}"),
    ('"open" = 1', 1, f"unknown column \"open\" (text is written in single quotes: 'open'): available columns "
                      f"are {AVAILABLE}"),
    ("@odata.etag = 'x'", 1, "unexpected character '@': a field name with characters other than letters, digits "
                             "and _ is written in double quotes, e.g. \"@odata.etag\" (or field('@odata.etag'))"),
    ("Größe > 1", 3, "unexpected character 'ö': a field name with characters other than letters, digits and _ is "
                     "written in double quotes, e.g. \"Größe\" (or field('Größe'))"),
    ('"ContactID', 1, 'unterminated quoted field name: close it with " (write "" for a double quote inside the '
                      "name)"),
    ('"" = 1', 1, "an empty quoted name \"\": write the field name between the double quotes, or '' for empty "
                  "text"),
    ("field(ContactID)", 7, "field() takes the field's name as text, e.g. field('@odata.etag')"),
    ("field('a', 'b')", 10, "expected a closing ) after the field name, got ','"),
    ("and = 1", 1, "unexpected keyword 'and': expected a column, a literal, a function call or ("),
]


@pytest.mark.parametrize(("text", "column", "reason"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_names_in_expressions(text: str, column: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, SCHEMA)
    assert (info.value.position + 1, info.value.reason) == (column, reason)


@pytest.mark.parametrize(
    "text",
    ["NAME = 'x'", '"contactid" = 1', "ContactIdentifier = 1", "@odata.etag = 'x'", "lastmodifieddate > 1"],
)
def test_every_suggested_spelling_is_accepted_by_the_next_check(text: str) -> None:
    """The suggestions (quoted names) compile: no error leads to a spelling the next check refuses."""
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, SCHEMA)
    reason = info.value.reason
    suggestions = [s for s in _quoted_suggestions(reason)]
    assert suggestions, reason
    for name in suggestions:
        assert compile_expression(f"{name} is null", SCHEMA).type == "boolean"


def _quoted_suggestions(reason: str) -> list[str]:
    """``"X"`` forms offered after 'did you mean', 'in double quotes:' or 'e.g.'."""
    import re

    head = reason.split(": available columns", 1)[0]
    offered = re.split(r"did you mean|in double quotes:|e\.g\.", head, maxsplit=1)
    return re.findall(r'"(?:[^"]|"")+"', offered[1]) if len(offered) == 2 else []


def run(steps: list[dict[str, Any]], frames: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    spec = TransformSpec.model_validate({"steps": steps})
    inputs = {k: v.lazy() for k, v in (frames or {"contacts": CONTACTS}).items()}
    return apply_transform(spec, inputs, main="contacts", ctx=CTX).collect()


def test_transform_steps_take_erp_names_exactly() -> None:
    invoices = pl.DataFrame({"InvoiceID": ["i-1", "i-2", "i-3"], "Contact.ContactID": ["c-1", "c-1", "c-3"],
                             "Total": [5, 7, 9]})
    out = run(
        [
            {"op": "filter", "expr": '"ContactID" != \'c-2\''},
            {"op": "join", "with": "invoices", "on": {"ContactID": "Contact.ContactID"}, "select": ["Total"],
             "prefix": "inv_"},
            {"op": "aggregate", "group_by": ["ContactID", "Name"],
             "aggregations": [{"column": "Invoice Total", "fn": "sum", "of": "inv_Total"}]},
            {"op": "derive", "column": "@odata.etag", "expr": "'none'"},
            {"op": "rename", "mapping": {"ContactID": "contact_id", "Invoice Total": "invoice_total"}},
            {"op": "deduplicate", "keys": ["contact_id"], "order_by": "invoice_total"},
            {"op": "select", "columns": ["contact_id", "Name", "invoice_total", "@odata.etag"]},
        ],
        frames={"contacts": CONTACTS, "invoices": invoices},
    )
    assert out.rows() == [("c-1", "Acme", 12, "none"), ("c-3", "Gamma", 9, "none")]


def test_cast_of_an_erp_named_column() -> None:
    frame = pl.DataFrame({"Amount (EUR)": ["1.50", "2"]})
    out = run([{"op": "cast", "columns": {"Amount (EUR)": "numeric(10,2)"}}], frames={"contacts": frame})
    assert out["Amount (EUR)"].to_list() == [Decimal("1.50"), Decimal("2.00")]


@pytest.mark.parametrize(
    ("steps", "key"),
    [
        ([], ("ContactID",)),
        ([{"op": "rename", "mapping": {"ContactID": "contact_id"}}], ("contact_id",)),
        ([{"op": "select", "columns": ["Name"]}], None),
        ([{"op": "derive", "column": "ContactID", "expr": "'x'"}], None),
        ([{"op": "deduplicate", "keys": ["Name"]}], ("Name",)),
        ([{"op": "aggregate", "group_by": ["Name"], "aggregations": [{"column": "n", "fn": "count"}]}],
         ("Name",)),
        ([{"op": "filter", "expr": "\"Name\" != 'x'"}, {"op": "cast", "columns": {"ContactID": "text"}}],
         ("ContactID",)),
    ],
)
def test_transform_key_follows_the_steps(steps: list[dict[str, Any]], key: tuple[str, ...] | None) -> None:
    assert transform_key(TransformSpec.model_validate({"steps": steps}), ("ContactID",)) == key


def test_derived_mapping_names_and_types_every_field() -> None:
    mapping = derive_mapping({**SCHEMA, "Nothing": "unknown", "Lines": "jsonb"})
    assert [(c.source, c.target, c.type) for c in mapping.columns] == [
        ("ContactID", "contact_id", "text"),
        ("Name", "name", "text"),
        ("name", "name_2", "text"),
        ("@odata.etag", "odata_etag", "text"),
        ("lastModifiedDateTime", "last_modified_date_time", "timestamptz"),
        ("Customer Name", "customer_name", "text"),
        ("and", "and", "bigint"),
        ("Balance", "balance", "numeric(12,2)"),
        ("Nothing", "nothing", "text"),
        ("Lines", "lines", "jsonb"),
    ]


def test_completed_mapping_keeps_explicit_targets_and_types() -> None:
    spec = MappingSpec.model_validate({"columns": [
        {"source": "Name"},
        {"source": "name", "target": "name"},
        {"source": "Balance", "type": "text"},
        {"source": "Balance", "target": "balance_amount"},
    ]})
    assert [(c.source, c.target, c.type) for c in complete_mapping(spec, SCHEMA).columns] == [
        ("Name", "name_2", "text"),  # the explicit target `name` is kept by the entry that names it
        ("name", "name", "text"),
        ("Balance", "balance", "text"),
        ("Balance", "balance_amount", "numeric(12,2)"),
    ]
    out = apply_mapping(CONTACTS, spec)
    assert out.columns == ["name_2", "name", "balance", "balance_amount"]
    assert out.row(0) == ("Acme", "acme gmbh", "10.50", Decimal("10.50"))


def test_unknown_source_lists_the_exact_names_closest_first() -> None:
    spec = MappingSpec.model_validate({"columns": [{"source": "contact_id"}, {"source": "etag"}]})
    problems = check_mapping(spec, SCHEMA)
    assert [(p.path, p.message) for p in problems] == [
        ("columns[0].source", "unknown source field 'contact_id' (did you mean 'ContactID'?); the input's fields "
                              "(exact names): ContactID, Name, name, @odata.etag, lastModifiedDateTime, Customer "
                              "Name, and, Balance; write the source exactly as listed"),
        ("columns[1].source", "unknown source field 'etag'; the input's fields (exact names): ContactID, Name, "
                              "name, @odata.etag, lastModifiedDateTime, Customer Name, and, Balance; write the "
                              "source exactly as listed"),
    ]
