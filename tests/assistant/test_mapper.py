"""The offline mapper: glossary normalisation, similarity, types, keys, one-to-one, confidence and reasons."""

from __future__ import annotations

import pytest

from assistant import canonical_tokens, propose_mapping
from tests.assistant.specs import mock_catalog, table


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("CustNo", ("customer", "number")),
        ("cust_no", ("customer", "number")),
        ("KUNNR", ("customer", "number")),
        ("displayName", ("name",)),
        ("lastModifiedDateTime", ("updated", "date", "timestamp")),
        ("@odata.etag", ("etag",)),
        ("qty_shipped", ("quantity", "shipped")),
        ("UnitPrice", ("unit", "price")),
        ("email_addr", ("email", "address")),
    ],
)
def test_canonical_tokens(name: str, tokens: tuple[str, ...]) -> None:
    assert canonical_tokens(name) == tokens


def test_existing_table_with_erp_abbreviations() -> None:
    crm = table("crm_customers", ("cust_id", "bigint", True), ("cust_no", "text"), ("cust_name", "text"),
                ("email_addr", "text"), ("tel", "text"), ("cntry", "text"), ("credit_lmt", "numeric(14,2)"),
                ("last_modified", "timestamptz"), ("notes", "text"))
    catalog = mock_catalog(crm)
    op = catalog.operation("mock_erp", "list_customers")
    assert op is not None
    proposal = propose_mapping(op, "crm_customers", crm)
    got = {c.target: c.source for c in proposal.columns}
    assert got == {"cust_id": "id", "cust_no": "number", "cust_name": "name", "email_addr": "email",
                   "tel": "phone", "cntry": "country", "credit_lmt": "credit_limit", "last_modified": "updated_at"}
    assert proposal.business_key == ("cust_id",)
    assert proposal.unmapped_columns == ("notes",)
    by_target = {c.target: c for c in proposal.columns}
    assert by_target["cust_no"].reason == ("same name after normalisation (cust -> customer, no -> number); "
                                           "text -> text (same)")
    assert by_target["cust_id"].reason == ("same name after normalisation (cust -> customer); bigint -> bigint "
                                           "(same); entity key meets the table's primary key")
    assert by_target["credit_lmt"].type == "numeric(14,2)"
    assert "double precision -> numeric(14,2) (checked)" in by_target["credit_lmt"].reason
    assert all(0 < c.confidence <= 1 for c in proposal.columns)
    assert len(set(got.values())) == len(got)  # one-to-one


def test_refused_types_are_never_proposed() -> None:
    target = table("flags", ("id", "bigint", True), ("created_at", "boolean"), ("updated_at", "jsonb"))
    op = mock_catalog(target).operation("mock_erp", "list_customers")
    assert op is not None
    proposal = propose_mapping(op, "flags", target)
    assert {c.target: c.source for c in proposal.columns} == {"id": "id"}
    assert set(proposal.unmapped_columns) == {"created_at", "updated_at"}


def test_one_to_one_prefers_the_exact_name() -> None:
    target = table("orders", ("order_id", "bigint", True), ("customer_id", "bigint"), ("total", "double precision"))
    op = mock_catalog(target).operation("mock_erp", "list_sales_orders")
    assert op is not None
    proposal = propose_mapping(op, "orders", target)
    got = {c.target: c.source for c in proposal.columns}
    assert got["customer_id"] == "customer_id"  # not the order's own id
    assert got["order_id"] == "id"
    assert got["total"] == "total_amount"


def test_new_table_keeps_every_field_and_the_entity_key() -> None:
    op = mock_catalog().operation("mock_erp", "list_items")
    assert op is not None
    proposal = propose_mapping(op, "items", None)
    assert proposal.new_table
    assert [c.source for c in proposal.columns] == [f.name for f in op.fields]
    assert proposal.business_key == ("id",)
    assert {c.confidence for c in proposal.columns} == {1.0}
    spec = proposal.to_mapping_spec()
    assert [c.nullable for c in spec.columns if c.target == "id"] == [False]


def test_no_partial_business_key() -> None:
    target = table("lines", ("order_no", "bigint", True), ("line_no", "bigint", True), ("qty", "bigint"))
    op = mock_catalog(target).operation("mock_erp", "list_items")
    assert op is not None
    proposal = propose_mapping(op, "lines", target)
    assert proposal.business_key == ()  # the table's key is not fully mapped: no half key
