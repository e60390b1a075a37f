"""updated_at cursors, and simulated ERP activity (append / touch) seen by incremental reads."""

from __future__ import annotations

import httpx
import pytest

from erp_platform.mock_erp import (
    ActivityError,
    AppendRows,
    MockErpServer,
    TouchRows,
    UnknownEntityError,
    UnknownTenantError,
    expected_records,
)
from tests.mock_erp.conftest import CONFIG
from tests.mock_erp.readers import STYLES, read_all


@pytest.mark.parametrize("style", STYLES)
def test_cursor_returns_rows_after_it(http: httpx.Client, clean_erp: MockErpServer, style: str) -> None:
    full = list(expected_records(CONFIG, "acme", "items"))
    cursor = str(full[199]["updated_at"])
    rows, _ = read_all(http, style, "items", 10, since=cursor)
    assert rows == full[200:]


def test_ge_includes_the_cursor_row(http: httpx.Client) -> None:
    full = list(expected_records(CONFIG, "acme", "items"))
    cursor = full[199]["updated_at"]
    body = http.get("/odata/v4/companies(acme)/items", params={"$filter": f"updated_at ge {cursor}"}).json()
    assert body["value"][0] == full[199]
    v2 = http.get("/odata/v2/Items", params={"$filter": f"updated_at ge datetimeoffset'{cursor}'"}).json()
    assert v2["d"]["results"][0]["id"] == 200


def test_cursor_before_and_after_everything(http: httpx.Client) -> None:
    params = {"updated_since": "2000-01-01T00:00:00+02:00", "pageSize": "1"}
    before = http.get("/api/v1/items", params=params).json()
    after = http.get("/api/v1/items", params={"updated_since": "2030-01-01"}).json()
    assert before["totalCount"] == 234
    assert after == {"page": 1, "pageSize": 100, "pageCount": 0, "totalCount": 0, "items": []}


@pytest.mark.parametrize("style", STYLES)
def test_append_and_touch_show_up_after_the_cursor(
    http: httpx.Client, clean_erp: MockErpServer, style: str
) -> None:
    before = list(expected_records(CONFIG, "acme", "customers"))
    cursor = str(before[-1]["updated_at"])
    snapshot = clean_erp.simulate("acme", "customers", append=3, touch=[7, 2, 7, 2345])
    assert snapshot.touched_ids == (7, 2, 2345)
    assert snapshot.appended_ids == (2346, 2347, 2348)
    assert snapshot.count == 2348

    changed, _ = read_all(http, style, "customers", 2, since=cursor)
    assert [r["id"] for r in changed] == [7, 2, 2345, 2346, 2347, 2348]
    stamps = [str(r["updated_at"]) for r in changed]
    assert stamps == sorted(stamps) and stamps[0] > cursor
    assert stamps[-1] == snapshot.max_updated_at

    full, _ = read_all(http, style, "customers", 1000)
    untouched = [r for r in before if r["id"] not in (2, 7, 2345)]
    assert full[: len(untouched)] == untouched  # touched rows moved behind the untouched ones
    assert full[len(untouched) :] == changed
    assert full == list(clean_erp.expected_records("acme", "customers"))


def test_touch_changes_mutable_fields_only(clean_erp: MockErpServer, http: httpx.Client) -> None:
    before = {o["id"]: o for o in expected_records(CONFIG, "acme", "sales_orders")}
    clean_erp.simulate("acme", "sales_orders", touch=list(range(1, 201)))
    after = {o["id"]: o for o in clean_erp.expected_records("acme", "sales_orders")}
    fixed = {"id", "number", "customer_id", "order_date", "currency", "total_amount", "created_at"}
    assert all({k: after[i][k] for k in fixed} == {k: before[i][k] for k in fixed} for i in range(1, 201))
    assert sum(after[i]["status"] != before[i]["status"] for i in range(1, 201)) > 50
    assert all(after[i]["updated_at"] > before[2345]["updated_at"] for i in range(1, 201))
    assert http.get("/api/v1/sales-orders/5").json() == after[5]


def test_tenants_do_not_share_activity(clean_erp: MockErpServer) -> None:
    clean_erp.simulate("acme", "items", append=5)
    globex = httpx.get(
        f"{clean_erp.base_url}/api/v1/items",
        params={"pageSize": 1},
        headers={"X-API-Key": "key-globex", "X-ERP-Tenant": "globex"},
    ).json()
    assert globex["totalCount"] == 234
    assert clean_erp.activity_log("globex").activity == ()
    assert clean_erp.activity_log("acme").activity == (AppendRows(entity="items", count=5),)


def test_activity_replays(clean_erp: MockErpServer) -> None:
    clean_erp.simulate("acme", "invoices", touch=[3])
    clean_erp.simulate("acme", "invoices", append=2, touch=[3, 1])
    log = clean_erp.activity_log("acme")
    assert log.activity == (
        TouchRows(entity="invoices", ids=(3,)),
        TouchRows(entity="invoices", ids=(3, 1)),
        AppendRows(entity="invoices", count=2),
    )
    replayed = list(expected_records(CONFIG, "acme", "invoices", log))
    assert [r["id"] for r in replayed[-4:]] == [3, 1, 2346, 2347]


def test_admin_activity_endpoint(clean_erp: MockErpServer) -> None:
    response = httpx.post(
        f"{clean_erp.base_url}/_admin/activity",
        json={"tenant": "acme", "entity": "items", "append": 1, "touch": [1]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "tenant": "acme",
        "entity": "items",
        "count": 235,
        "max_updated_at": "2024-01-01T03:55:00Z",  # item 234 at 03:53, then +1 min each
        "appended_ids": [235],
        "touched_ids": [1],
    }
    log = httpx.get(f"{clean_erp.base_url}/_admin/activity", params={"tenant": "acme"}).json()
    assert log == {
        "tenant": "acme",
        "activity": [
            {"kind": "touch", "entity": "items", "ids": [1]},
            {"kind": "append", "entity": "items", "count": 1},
        ],
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"tenant": "acme", "entity": "items", "touch": [0, 235, 9]},
            422,
            "touch items: no row with id 0, 235; ids run from 1 to 234",
        ),
        (
            {"tenant": "acme", "entity": "vendors", "append": 1},
            422,
            "unknown entity 'vendors': use one of customers, items, sales_orders, sales_order_lines, "
            "invoices",
        ),
        (
            {"tenant": "initech", "entity": "items", "append": 1},
            404,
            "unknown ERP tenant 'initech': configured tenants are acme, globex",
        ),
        (
            {"tenant": "acme", "entity": "items", "append": -1},
            422,
            "body is invalid: append: Input should be greater than or equal to 0",
        ),
        (
            {"entity": "items", "append": 1, "delete": [1]},
            422,
            "body is invalid: tenant: Field required; delete: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_activity(clean_erp: MockErpServer, body: dict[str, object], status: int, message: str) -> None:
    response = httpx.post(f"{clean_erp.base_url}/_admin/activity", json=body)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_bad_activity_through_python(clean_erp: MockErpServer) -> None:
    with pytest.raises(ActivityError, match=r"^touch items: no row with id 999; ids run from 1 to 234$"):
        clean_erp.simulate("acme", "items", touch=[999])
    with pytest.raises(UnknownEntityError, match="unknown entity 'vendor'"):
        clean_erp.simulate("acme", "vendor", append=1)
    with pytest.raises(UnknownTenantError, match="unknown ERP tenant 'nobody'"):
        clean_erp.simulate("nobody", "items", append=1)
    with pytest.raises(UnknownTenantError):
        list(expected_records(CONFIG, "nobody", "items"))
    assert clean_erp.activity_log("acme").activity == ()
