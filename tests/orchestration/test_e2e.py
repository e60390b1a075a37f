"""End to end through a real Dagster instance on Postgres, the daemon and the run queue: apply, activate,
run; the rows in the tenant's schema equal the mock ERP's data; re-runs and incremental runs converge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erp_platform.demo import DemoTenant, workflow_text
from erp_platform.mock_erp import expected_records
from tests.support.stack import Stack

TENANT = "e2e_acme"


@pytest.fixture(scope="module")
def synced(stack: Stack) -> Stack:
    stack.onboard(TENANT, "standard", erp_code="acme", token="tok-acme")
    record = stack.apply_workflow(TENANT, workflow_text(DemoTenant(TENANT, "standard", "E2E", "acme", "tok-acme")))
    assert record.status == "ACTIVE"
    run_id, status = stack.run(TENANT, "sales_sync")
    assert status == "SUCCESS", run_id
    return stack


def _expected(stack: Stack, entity: str) -> list[dict]:
    return list(stack.mock.expected_records("acme", entity))


def test_customers_equal_the_erp(synced: Stack) -> None:
    rows = synced.table(TENANT, "customers", "customer_id")
    expected = _expected(synced, "customers")
    assert len(rows) == len(expected) == 300
    for row, erp in zip(rows, expected, strict=True):
        assert row["customer_id"] == erp["id"]
        assert row["customer_number"] == erp["number"]
        assert row["name"] == erp["name"]
        assert row["country"] == erp["country"]
        assert row["balance"] == Decimal(str(erp["balance"])).quantize(Decimal("0.01"))
        assert row["is_active"] == erp["is_active"]
        assert row["_erp_run_id"]


def test_orders_equal_the_erp_and_carry_their_customer(synced: Stack) -> None:
    rows = synced.table(TENANT, "sales_orders", "order_id")
    orders = _expected(synced, "sales_orders")
    customers = {c["id"]: c for c in _expected(synced, "customers")}
    assert [r["order_id"] for r in rows] == [o["id"] for o in orders]
    for row, erp in zip(rows, orders, strict=True):
        assert row["order_number"] == erp["number"]
        assert row["status"] == erp["status"]
        assert row["total_amount"] == Decimal(str(erp["total_amount"])).quantize(Decimal("0.01"))
        assert row["customer_name"] == customers[erp["customer_id"]]["name"]
        assert row["is_large"] == (erp["total_amount"] >= 1000)


def test_runs_carry_the_artifact_tags(synced: Stack) -> None:
    from dagster import RunsFilter

    runs = synced.instance.get_runs(RunsFilter(tags={"erp/tenant": TENANT}))
    assert runs
    tags = runs[0].tags
    assert tags["erp/tier"] == "standard"
    assert tags["erp/workflow"] == "sales_sync"
    assert tags["erp/workflow_version"] == "1"
    assert len(tags["erp/workflow_hash"]) == 64
    assert tags["erp/tenant_standard"] == TENANT


def test_rerun_never_duplicates(synced: Stack) -> None:
    before = synced.table(TENANT, "customers", "customer_id")
    _, status = synced.run(TENANT, "sales_sync")
    assert status == "SUCCESS"
    after = synced.table(TENANT, "customers", "customer_id")
    assert [r["customer_id"] for r in after] == [r["customer_id"] for r in before]
    # unchanged rows are not rewritten: they keep the run id of the run that loaded them
    assert [r["_erp_run_id"] for r in after] == [r["_erp_run_id"] for r in before]


def test_incremental_run_picks_up_new_and_changed_orders(synced: Stack) -> None:
    synced.mock.simulate("acme", "sales_orders", append=7, touch=(1, 2, 3))
    _, status = synced.run(TENANT, "sales_sync")
    assert status == "SUCCESS"
    rows = {r["order_id"]: r for r in synced.table(TENANT, "sales_orders", "order_id")}
    expected = {o["id"]: o for o in _expected(synced, "sales_orders")}
    assert sorted(rows) == sorted(expected)
    assert len(rows) == 307
    for order_id in (1, 2, 3):
        assert rows[order_id]["status"] == expected[order_id]["status"]
        assert rows[order_id]["total_amount"] == Decimal(str(expected[order_id]["total_amount"])).quantize(
            Decimal("0.01"))


def test_extract_checkpoint_and_cursor_recorded(synced: Stack) -> None:
    from sqlalchemy import text

    with synced.platform.engine.connect() as conn:
        cursor = conn.execute(text(
            "SELECT c.cursor_value FROM erp_control.sync_cursors c JOIN erp_control.tenants t ON t.id = c.tenant_id "
            "WHERE t.slug = :s AND c.activity_id = 'orders'"), {"s": TENANT}).scalar_one()
    newest = max(o["updated_at"] for o in _expected(synced, "sales_orders"))
    assert cursor[:19] == newest[:19]


def test_outputs_stored_per_attempt_in_the_tenant_prefix(synced: Stack) -> None:
    from erp_platform.objectstore import tenant_prefix

    keys = [k.path for k in synced.platform.objects.list(tenant_prefix(TENANT))]
    outputs = [k for k in keys if "/activities/sales_sync.customers/attempt-" in k]
    assert outputs and all(k.startswith(f"tenants/{TENANT}/executions/") for k in outputs)
    assert all(k.endswith(".parquet") for k in outputs)
