"""Artifact mutation is caught at the next step; one tenant's workflow cannot reach another's SDK, tables
or outputs; SQL injection through table and column names in mappings is refused before anything runs."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
import pytest
from sqlalchemy import text

from erp_platform import InvalidInputError, TenantIsolationError
from erp_platform.orchestration._io_manager import ErpIOManager, key_for_path
from erp_platform.orchestration._launch import run_failure_message, wait_for_run
from tests.orchestration.workflows import small_sync
from tests.support.stack import Stack

SMALL = small_sync()


@pytest.fixture(scope="module")
def tenants_ab(stack: Stack) -> Stack:
    stack.onboard("iso_a", "free", erp_code="acme", token="tok-acme")
    stack.onboard("iso_b", "free", erp_code="globex", token="tok-globex")
    for slug in ("iso_a", "iso_b"):
        stack.apply_workflow(slug, SMALL)
        _, status = stack.run(slug, "small_sync")
        assert status == "SUCCESS"
    return stack


def test_editing_an_active_definition_fails_the_next_step_with_the_hash_error(tenants_ab: Stack) -> None:
    stack = tenants_ab
    engine = stack.platform.engine
    with engine.begin() as conn:
        conn.execute(
            text(
                "ALTER TABLE erp_control.workflow_definitions DISABLE TRIGGER workflow_definitions_immutable"
            )
        )
        try:
            row = conn.execute(
                text(
                    "SELECT w.id, w.definition FROM erp_control.workflow_definitions w JOIN erp_control.tenants t "
                    "ON t.id = w.tenant_id WHERE t.slug = 'iso_a' AND w.workflow_id = 'small_sync' "
                    "AND w.status = 'ACTIVE'"
                )
            ).one()
            tampered = dict(row.definition)
            tampered["activities"][0]["config"]["page_size"] = 7
            conn.execute(
                text(
                    "UPDATE erp_control.workflow_definitions SET definition = CAST(:d AS jsonb) WHERE id = :i"
                ),
                {"d": json.dumps(tampered), "i": row.id},
            )
        finally:
            conn.execute(
                text(
                    "ALTER TABLE erp_control.workflow_definitions ENABLE TRIGGER workflow_definitions_immutable"
                )
            )
    try:
        run_id = stack.launch("iso_a", "small_sync")
        status = wait_for_run(stack.instance, run_id, timeout=300)
        assert status.value == "FAILURE"
        message = run_failure_message(stack.instance, run_id)
        assert "ArtifactIntegrityError" in message or "does not match its content hash" in message, message
        assert "small_sync" in message and "iso_a" in message
        # the other tenant is unaffected
        _, other = stack.run("iso_b", "small_sync")
        assert other == "SUCCESS"
    finally:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "ALTER TABLE erp_control.workflow_definitions DISABLE TRIGGER workflow_definitions_immutable"
                )
            )
            conn.execute(
                text(
                    "UPDATE erp_control.workflow_definitions SET definition = CAST(:d AS jsonb) WHERE id = :i"
                ),
                {"d": json.dumps(dict(row.definition)), "i": row.id},
            )
            conn.execute(
                text(
                    "ALTER TABLE erp_control.workflow_definitions ENABLE TRIGGER workflow_definitions_immutable"
                )
            )


def test_a_workflow_cannot_reference_another_tenants_sdk(tenants_ab: Stack) -> None:
    from erp_platform.workflows import InvalidDefinitionError, WorkflowRegistry, registry_catalog_factory

    engine = tenants_ab.platform.engine
    tenants_ab.platform.tenants.create("iso_nosdk", "free")
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    with pytest.raises(InvalidDefinitionError) as info:
        registry.apply("iso_nosdk", SMALL, "small.yaml")
    assert "activities[0].config.sdk" in str(info.value)
    assert "mock_erp" in str(info.value)


def test_a_tenant_cannot_read_another_tenants_outputs(tenants_ab: Stack) -> None:
    keys = [
        k.path
        for k in tenants_ab.platform.objects.list(
            __import__("erp_platform.objectstore", fromlist=["tenant_prefix"]).tenant_prefix("iso_b")
        )
    ]
    b_output = next(k for k in keys if "/attempt-" in k)
    with pytest.raises(TenantIsolationError, match="outside tenant 'iso_a'"):
        key_for_path("iso_a", b_output)
    manager = ErpIOManager(tenant="iso_a")
    context = dg.build_input_context(
        asset_key=dg.AssetKey(["iso_b", "small_sync", "iso_b__customers"]), instance=tenants_ab.instance
    )
    with pytest.raises(TenantIsolationError, match="belongs to another tenant"):
        manager.load_input(context)


def test_a_tenants_load_writes_only_its_own_schema(tenants_ab: Stack) -> None:
    a_rows = tenants_ab.table("iso_a", "customers", "customer_id")
    b_rows = tenants_ab.table("iso_b", "customers", "customer_id")
    assert a_rows and b_rows
    assert {r["name"] for r in a_rows}.isdisjoint({r["name"] for r in b_rows}) or a_rows != b_rows
    with tenants_ab.platform.engine.connect() as conn:
        owners = dict(
            conn.execute(
                text(
                    "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'customers' "
                    "AND schemaname IN ('tenant_iso_a', 'tenant_iso_b')"
                )
            ).all()
        )
    assert owners["tenant_iso_a"] == tenants_ab.platform.tenants.get("iso_a").role_name
    assert owners["tenant_iso_b"] == tenants_ab.platform.tenants.get("iso_b").role_name


INJECTIONS = [
    ("table", 'customers"; DROP TABLE tenant_iso_b.customers; --'),
    ("table", "tenant_iso_b.customers"),
    ("table", "Customers"),
    ("column", "name; DELETE FROM x"),
    ("column", "a b"),
    ("column", "pg_catalog"),
]


@pytest.mark.parametrize(("where", "name"), INJECTIONS)
def test_sql_injection_through_mapping_names_is_refused_at_apply(
    tenants_ab: Stack, where: str, name: str
) -> None:
    from erp_platform.workflows import InvalidDefinitionError, WorkflowRegistry, registry_catalog_factory

    doc = SMALL.replace("small_sync", "evil_sync")
    if where == "table":
        doc = doc.replace("table: customers", f"table: {json.dumps(name)}")
    else:
        doc = doc.replace("target: name,", f"target: {json.dumps(name)},")
    engine = tenants_ab.platform.engine
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    with pytest.raises((InvalidDefinitionError, InvalidInputError)) as info:
        registry.apply("iso_a", doc, "evil.yaml")
    path = (
        "activities[1].config.table" if where == "table" else "activities[1].config.mapping.columns[1].target"
    )
    assert path in str(info.value)
    assert registry.list("iso_a", "evil_sync") == []
    assert tenants_ab.table("iso_b", "customers", "customer_id")


def test_frames_are_polars(tenants_ab: Stack) -> None:
    """The IO manager hands transforms and loads polars LazyFrames read from the tenant's own objects."""
    manager = ErpIOManager(tenant="iso_a")
    context = dg.build_input_context(
        asset_key=dg.AssetKey(["iso_a", "small_sync", "iso_a__customers"]), instance=tenants_ab.instance
    )
    frame = manager.load_input(context)
    assert isinstance(frame, pl.LazyFrame)
    assert frame.collect().height == len(tenants_ab.table("iso_a", "customers", "customer_id"))


def test_a_tenant_over_its_storage_quota_fails_its_run_and_not_the_others(tenants_ab: Stack) -> None:
    """Extract pages and activity outputs go through the quota-enforcing store in the run worker."""
    stack = tenants_ab
    stack.onboard("iso_q", "free", erp_code="acme", token="tok-acme")
    stack.apply_workflow("iso_q", SMALL)
    stack.platform.tenants.set_quotas("iso_b", {"max_storage_gb": 0})
    try:
        run_id, status = stack.run("iso_b", "small_sync")
        assert status == "FAILURE"
        message = run_failure_message(stack.instance, run_id)
        assert "tenant 'iso_b' is over its storage quota: writing tenants/iso_b/executions/" in message, message
        assert "past its limit of 0 B (max_storage_gb)" in message, message
        _, status = stack.run("iso_q", "small_sync")
        assert status == "SUCCESS"
    finally:
        stack.platform.tenants.set_quotas("iso_b", {"max_storage_gb": None})
    _, status = stack.run("iso_b", "small_sync")
    assert status == "SUCCESS"
