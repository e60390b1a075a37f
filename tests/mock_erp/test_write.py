"""POST /api/v1/sales-orders: validation, Idempotency-Key, and the new order in every read path."""

from __future__ import annotations

import httpx
import pytest

from erp_platform.mock_erp import CreateRecord, MockErpServer, expected_records
from tests.mock_erp.conftest import CONFIG
from tests.mock_erp.readers import STYLES, read_all

ORDER = {"customer_id": 12, "total_amount": 1234.5, "external_reference": "PO-777", "is_priority": True}


def test_create(clean_erp: MockErpServer, http: httpx.Client) -> None:
    response = http.post("/api/v1/sales-orders", json=ORDER)
    assert response.status_code == 201
    assert response.headers["location"] == "/api/v1/sales-orders/2346"
    customer = http.get("/api/v1/customers/12").json()
    last_order = list(expected_records(CONFIG, "acme", "sales_orders"))[-1]
    assert response.json() == {
        "id": 2346,
        "number": "SO00002346",
        "customer_id": 12,
        "order_date": "2024-01-02",
        "requested_delivery_date": "2024-01-09",
        "status": "Open",
        "currency": customer["currency"],
        "line_count": 0,
        "total_amount": 1234.5,
        "external_reference": "PO-777",
        "is_priority": True,
        "created_at": "2024-01-02T15:05:00Z",
        "updated_at": "2024-01-02T15:05:00Z",
    }
    assert last_order["updated_at"] == "2024-01-02T15:04:00Z"
    assert http.get("/api/v1/sales-orders/2346").json() == response.json()


@pytest.mark.parametrize("style", STYLES)
def test_created_order_is_read_like_any_other(
    clean_erp: MockErpServer, http: httpx.Client, style: str
) -> None:
    order = {**ORDER, "currency": "EUR", "order_date": "2023-12-30"}
    created = http.post("/api/v1/sales-orders", json=order).json()
    clean_erp.simulate("acme", "sales_orders", append=1)
    rows, _ = read_all(http, style, "sales_orders", 1000, since="2024-01-02T15:04:00Z")
    assert [r["id"] for r in rows] == [2346, 2347]
    assert rows[0] == created
    assert list(clean_erp.expected_records("acme", "sales_orders"))[-2] == created


def test_idempotency_key_replays(clean_erp: MockErpServer, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "order-1"}
    first = http.post("/api/v1/sales-orders", json=ORDER, headers=headers)
    reordered = dict(reversed(list(ORDER.items())))  # same JSON value, other key order
    again = http.post("/api/v1/sales-orders", json=reordered, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other_key = http.post("/api/v1/sales-orders", json=ORDER, headers={"Idempotency-Key": "order-2"})
    assert other_key.json()["id"] == first.json()["id"] + 1
    kinds = [a.kind for a in clean_erp.activity_log("acme").activity]
    assert kinds == ["create", "create"]
    assert isinstance(clean_erp.activity_log("acme").activity[0], CreateRecord)


def test_idempotency_keys_are_per_tenant(clean_erp: MockErpServer, http: httpx.Client) -> None:
    acme = http.post("/api/v1/sales-orders", json=ORDER, headers={"Idempotency-Key": "k"}).json()
    globex = httpx.post(
        f"{clean_erp.base_url}/api/v1/sales-orders",
        json=ORDER,
        headers={"Authorization": "Bearer tok-globex", "X-ERP-Tenant": "globex", "Idempotency-Key": "k"},
    ).json()
    assert acme["id"] == globex["id"] == 2346  # globex's key "k" is not acme's key "k"
    assert [a.kind for a in clean_erp.activity_log("globex").activity] == ["create"]
    assert [a.kind for a in clean_erp.activity_log("acme").activity] == ["create"]


def test_reused_key_with_another_body(clean_erp: MockErpServer, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "order-9"}
    assert http.post("/api/v1/sales-orders", json=ORDER, headers=headers).status_code == 201
    response = http.post("/api/v1/sales-orders", json={**ORDER, "total_amount": 1}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "idempotency_key_reused",
        "message": "Idempotency-Key 'order-9' was already used with a different request body: send a new key "
        "for a new order, or the original body to get the original answer",
    }
    assert len(clean_erp.activity_log("acme").activity) == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"{not json", 400, "invalid_json", "request body is not valid JSON: "),
        (
            b"{}",
            422,
            "validation_failed",
            "sales order is invalid: customer_id: Field required; total_amount: Field required. Fix the "
            "fields named and send it again",
        ),
        (
            b'{"customer_id": 1, "total_amount": 10.001, "colour": "red"}',
            422,
            "validation_failed",
            "sales order is invalid: total_amount: Decimal input should have no more than 2 decimal places; "
            "colour: Extra inputs are not permitted. Fix the fields named and send it again",
        ),
        (
            b'{"customer_id": 1, "total_amount": 10, "currency": "euro"}',
            422,
            "validation_failed",
            "sales order is invalid: currency: String should match pattern '^[A-Z]{3}$'. Fix the fields "
            "named and send it again",
        ),
        (
            b'{"customer_id": 9999, "total_amount": 10}',
            422,
            "validation_failed",
            "sales order is invalid: customer_id: no customer with id 9999; ids run from 1 to 2345",
        ),
        (
            b'{"customer_id": 1, "total_amount": 10, "order_date": "2024-02-01", '
            b'"requested_delivery_date": "2024-01-01"}',
            422,
            "validation_failed",
            "sales order is invalid: requested_delivery_date 2024-01-01 is before order_date 2024-02-01; "
            "send a date on or after the order date",
        ),
    ],
)
def test_invalid_orders(
    clean_erp: MockErpServer, http: httpx.Client, body: bytes, status: int, code: str, message: str
) -> None:
    response = http.post("/api/v1/sales-orders", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(message)
    assert clean_erp.activity_log("acme").activity == ()


def test_create_needs_credentials(clean_erp: MockErpServer) -> None:
    response = httpx.post(f"{clean_erp.base_url}/api/v1/sales-orders", json=ORDER)
    assert response.status_code == 401
    assert clean_erp.activity_log("acme").activity == ()
