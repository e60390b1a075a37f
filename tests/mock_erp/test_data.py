"""Generated data: deterministic per (seed, tenant, entity, index), realistic, consistent across entities."""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import islice

import pytest

from erp_platform.mock_erp import ENTITIES, ENTITY_NAMES, Kind, MockErpConfig, TenantAuth, expected_records

CONFIG = MockErpConfig(rows=3000, seed=5)

_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d")


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, object]]]:
    return {entity: list(expected_records(CONFIG, "acme", entity)) for entity in ENTITY_NAMES}


def test_pinned_values() -> None:
    """A change here changes every dataset: update consciously (and tell the users of recorded data)."""
    first = next(expected_records(MockErpConfig(rows=10, seed=0), "acme", "customers"))
    assert first == {
        "id": 1,
        "number": "C00000001",
        "name": "Adventure Industries AS",
        "email": "ap1@adventure-industries.example",
        "phone": "+47 2 6372176",
        "city": "Oslo",
        "country": "NO",
        "currency": "NOK",
        "credit_limit": 82000.0,
        "balance": 64980.48,
        "payment_terms_days": 45,
        "is_active": True,
        "created_at": "2023-08-18T03:33:25Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }


def test_deterministic() -> None:
    for entity in ENTITY_NAMES:
        again = list(expected_records(MockErpConfig(rows=3000, seed=5), "acme", entity))
        assert again == list(expected_records(CONFIG, "acme", entity))


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_tenants_and_seeds_differ(entity: str) -> None:
    config = MockErpConfig(
        rows=200,
        seed=5,
        tenants={"acme": TenantAuth(token="a", api_key="b"), "beta": TenantAuth(token="c", api_key="d")},
    )
    acme = list(expected_records(config, "acme", entity))
    beta = list(expected_records(config, "beta", entity))
    other_seed = list(expected_records(config.model_copy(update={"seed": 6}), "acme", entity))
    assert [r["id"] for r in acme] == [r["id"] for r in beta]  # same keys, different content
    differing = sum(a != b for a, b in zip(acme, beta, strict=True))
    assert differing > 0.9 * len(acme)
    assert sum(a != b for a, b in zip(acme, other_seed, strict=True)) > 0.9 * len(acme)


def test_a_prefix_does_not_depend_on_the_row_count() -> None:
    """Rows are a function of the index: growing the dataset keeps existing customers and items."""
    for entity in ("customers", "items"):
        small = list(expected_records(MockErpConfig(rows=100, seed=5), "acme", entity))
        assert list(islice(expected_records(CONFIG, "acme", entity), len(small))) == small


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_types_and_formats(data: dict[str, list[dict[str, object]]], entity: str) -> None:
    spec = ENTITIES[entity]
    for record in data[entity]:
        assert list(record) == [f.name for f in spec.fields]
        for field in spec.fields:
            value = record[field.name]
            if value is None:
                assert field.nullable, field.name
                continue
            if field.kind is Kind.INTEGER:
                assert type(value) is int
            elif field.kind is Kind.NUMBER:
                assert type(value) is float
                assert round(value, 3) == value
            elif field.kind is Kind.BOOLEAN:
                assert type(value) is bool
            elif field.kind is Kind.DATETIME:
                assert isinstance(value, str) and _ISO_DATETIME.fullmatch(value)
            elif field.kind is Kind.DATE:
                assert isinstance(value, str) and _ISO_DATE.fullmatch(value)
            else:
                assert isinstance(value, str) and value


def test_updated_at_strictly_increases(data: dict[str, list[dict[str, object]]]) -> None:
    for rows in data.values():
        stamps = [str(r["updated_at"]) for r in rows]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))


def test_realistic_values(data: dict[str, list[dict[str, object]]]) -> None:
    customers = data["customers"]
    assert customers[41]["number"] == "C00000042"
    assert all(re.fullmatch(r"ap\d+@[a-z0-9-]+\.example", str(c["email"])) for c in customers)
    assert len({c["country"] for c in customers}) > 15
    assert len({c["name"] for c in customers}) > 2000
    assert 0.05 < sum(c["phone"] is None for c in customers) / len(customers) < 0.15
    assert all(0 <= float(c["balance"]) < float(c["credit_limit"]) for c in customers)  # type: ignore[arg-type]
    statuses = {o["status"] for o in data["sales_orders"]}
    assert statuses == {"Open", "Released", "Shipped", "Invoiced", "Cancelled"}
    assert data["items"][0]["number"] == "I00000001"
    assert data["invoices"][0]["number"] == "INV00000001"
    assert data["sales_orders"][0]["number"] == "SO00000001"


def test_entities_agree(data: dict[str, list[dict[str, object]]]) -> None:
    customers = {c["id"]: c for c in data["customers"]}
    items = {i["id"]: i for i in data["items"]}
    orders = {o["id"]: o for o in data["sales_orders"]}
    lines_by_order: dict[object, list[dict[str, object]]] = {}
    for line in data["sales_order_lines"]:
        lines_by_order.setdefault(line["order_id"], []).append(line)
        item = items[line["item_id"]]
        assert line["description"] == item["description"]
        assert line["unit_price"] == item["unit_price"]  # untouched items: the price at ordering time
        cents = round(line["quantity"] * round(line["unit_price"] * 100) * (100 - line["discount_percent"]))  # type: ignore[operator]
        assert line["line_amount"] == (cents // 100) / 100
        assert 0 <= line["quantity_shipped"] <= line["quantity"]  # type: ignore[operator]
    for order_id, order in orders.items():
        lines = lines_by_order[order_id]
        assert [line["line_no"] for line in lines] == [1, 2, 3] == list(range(1, order["line_count"] + 1))  # type: ignore[operator]
        assert order["total_amount"] == round(sum(line["line_amount"] for line in lines), 2)  # type: ignore[misc]
        assert order["currency"] == customers[order["customer_id"]]["currency"]
        ordered = date.fromisoformat(str(order["order_date"]))
        assert date.fromisoformat(str(order["requested_delivery_date"])) > ordered
    for invoice in data["invoices"]:
        order = orders[invoice["order_id"]]
        customer = customers[invoice["customer_id"]]
        assert invoice["customer_id"] == order["customer_id"]
        assert invoice["net_amount"] == order["total_amount"]
        assert invoice["currency"] == customer["currency"]
        assert invoice["total_amount"] == round(invoice["net_amount"] + invoice["tax_amount"], 2)  # type: ignore[operator]
        assert 0 <= invoice["paid_amount"] <= invoice["total_amount"]  # type: ignore[operator]
        assert (invoice["status"] == "Paid") == (invoice["paid_amount"] == invoice["total_amount"] > 0)
        invoice_date = date.fromisoformat(str(invoice["invoice_date"]))
        assert invoice_date >= date.fromisoformat(str(order["order_date"]))
        due = date.fromisoformat(str(invoice["due_date"]))
        assert (due - invoice_date).days == customer["payment_terms_days"]
    for rows in data.values():
        for row in rows:
            if "created_at" in row:
                created = datetime.fromisoformat(str(row["created_at"]))
                assert created <= datetime.fromisoformat(str(row["updated_at"]))
