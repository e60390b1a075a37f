"""The workflow registry against the real database: versions, idempotent apply, activation compatibility,
one ACTIVE version, deprecate / retire, audit, immutability (service and trigger) and tamper detection."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from erp_platform._errors import ArtifactIntegrityError, ConflictError, InvalidInputError, NotFoundError
from erp_platform.registry import AuditEntry, SdkVersion, Tenant, WorkflowDefinitionRow, current_actor
from erp_platform.workflows import (
    CompatibilityError,
    InvalidDefinitionError,
    MappingRegistry,
    WorkflowRegistry,
    content_hash,
    load_document,
    parse_definition,
)
from tests.workflows.samples import VALID, insert_sdk, set_sdk_status

CHANGED = VALID.replace('cron: "0 * * * *"', 'cron: "30 * * * *"')


def _audit(engine: Engine, tenant: str, action: str) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.details, AuditEntry.actor)
            .where(AuditEntry.tenant_slug == tenant, AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
    return list(rows)


def _tenant_id(engine: Engine, tenant: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Tenant.id).where(Tenant.slug == tenant)).scalar_one())


# -- apply ---------------------------------------------------------------------------------------------
def test_apply_creates_numbered_drafts_and_is_idempotent(
    registry: WorkflowRegistry, tenant: str, engine: Engine
) -> None:
    first, created = registry.apply(tenant, VALID, "orders.yaml")
    assert created is True
    assert (first.workflow_id, first.version, first.status) == ("orders_sync", 1, "DRAFT")
    assert first.tenant == tenant
    assert first.content_hash == content_hash(parse_definition(VALID, filename="orders.yaml"))
    assert first.required_capabilities == ["read:orders"]

    again, created = registry.apply(tenant, VALID, "orders.yaml")
    as_json = json.dumps(load_document(VALID, filename="orders.yaml"))
    same_as_json, created_json = registry.apply(tenant, as_json, "orders.json")
    assert (created, created_json) == (False, False)
    assert again == first
    assert same_as_json == first

    second, created = registry.apply(tenant, CHANGED, "orders.yaml")
    assert (second.version, created, second.status) == (2, True, "DRAFT")
    # Only the NEWEST version counts: going back to the first content is a new version.
    third, created = registry.apply(tenant, VALID, "orders.yaml")
    assert (third.version, created, third.content_hash) == (3, True, first.content_hash)

    entries = _audit(engine, tenant, "workflow.apply")
    assert [e.target_id for e in entries] == ["orders_sync@1", "orders_sync@2", "orders_sync@3"]
    assert entries[0].details == {"version": 1, "content_hash": first.content_hash, "filename": "orders.yaml"}


def test_invalid_file_stores_nothing(registry: WorkflowRegistry, tenant: str, engine: Engine) -> None:
    broken = VALID.replace("operation: list_customers", "operation: list_customer").replace(
        'cron: "0 * * * *"', 'cron: "0 * * *"'
    )
    with pytest.raises(InvalidDefinitionError) as info:
        registry.apply(tenant, broken, "broken.yaml")
    assert [p.path for p in info.value.problems] == ["triggers[0].cron", "activities[1].config.operation"]
    assert str(info.value).startswith("broken.yaml: invalid workflow definition: 2 problems\n")
    assert registry.list(tenant) == []
    assert _audit(engine, tenant, "workflow.apply") == []


def test_numbers_survive_the_jsonb_round_trip(registry: WorkflowRegistry, tenant: str) -> None:
    marker = "{company_id: c1}\n      incremental"
    odd = VALID.replace(marker, marker.replace("c1", "1e20, status: 0.1"))
    record, _ = registry.apply(tenant, odd, "odd.yaml")
    stored, definition = registry.get(tenant, "orders_sync", record.version)
    assert content_hash(definition) == stored.content_hash
    assert definition.activities[0].config.params == {"company_id": 10**20, "status": 0.1}  # type: ignore[union-attr]


# -- activate ------------------------------------------------------------------------------------------
def test_one_active_version_per_workflow(registry: WorkflowRegistry, tenant: str, engine: Engine) -> None:
    v1, _ = registry.apply(tenant, VALID, "orders.yaml")
    v2, _ = registry.apply(tenant, CHANGED, "orders.yaml")
    active = registry.activate(tenant, "orders_sync", 1)
    assert (active.status, active.activated_at is not None) == ("ACTIVE", True)
    assert registry.activate(tenant, "orders_sync", 1) == active  # no-op

    registry.activate(tenant, "orders_sync", 2)
    statuses = {r.version: r.status for r in registry.list(tenant)}
    assert statuses == {1: "DEPRECATED", 2: "ACTIVE"}
    [(record, definition)] = registry.active_definitions(tenant)
    assert (record.version, definition.triggers[0].cron) == (2, "30 * * * *")  # type: ignore[union-attr]

    registry.activate(tenant, "orders_sync", 1)  # roll back to a deprecated version
    assert {r.version: r.status for r in registry.list(tenant)} == {1: "ACTIVE", 2: "DEPRECATED"}
    entries = _audit(engine, tenant, "workflow.activate")
    assert [(e.target_id, e.details["deprecated_version"]) for e in entries] == [
        ("orders_sync@1", None), ("orders_sync@2", 1), ("orders_sync@1", 2)
    ]
    assert entries[1].details["from_status"] == "DRAFT"
    assert entries[2].details["from_status"] == "DEPRECATED"
    assert entries[0].actor == current_actor()

    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(update(WorkflowDefinitionRow).where(WorkflowDefinitionRow.id == v2.id)
                     .values(status="ACTIVE"))
    assert v1.id != v2.id


def _delete_sdk(engine: Engine, tenant: str, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(SdkVersion).where(SdkVersion.tenant_id == _tenant_id(engine, tenant),
                                              SdkVersion.version == version))


def _restrict_capabilities(engine: Engine, tenant: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(SdkVersion).where(SdkVersion.tenant_id == _tenant_id(engine, tenant))
                     .values(capabilities=["read:customers"]))


PINNED_TO_2 = VALID + "  required_sdk_version: 2\n"

Step = Callable[[Engine, str], None]
ACTIVATION_CASES: list[tuple[str, str, Step, Step, list[str]]] = [
    (
        "sdk_only_testing", VALID,
        lambda e, t: insert_sdk(e, t, status="TESTING"),
        lambda e, t: None,
        ["activities[0].config.sdk: SDK acme_erp v1 is TESTING, not ACTIVE (versions: v1 TESTING): activate "
         "that SDK version first (received: 'acme_erp')"],
    ),
    (
        "sdk_deleted", VALID,
        lambda e, t: insert_sdk(e, t),
        lambda e, t: _delete_sdk(e, t, 1),
        ["activities[0].config.sdk: unknown SDK; this tenant has no SDK yet (build one with `erp sdk build`) "
         "(received: 'acme_erp')",
         "activities[1].config.sdk: unknown SDK; this tenant has no SDK yet (build one with `erp sdk build`) "
         "(received: 'acme_erp')"],
    ),
    (
        "sdk_revoked", VALID,
        lambda e, t: insert_sdk(e, t),
        lambda e, t: set_sdk_status(e, t, 1, "REVOKED"),
        ["activities[0].config.sdk: SDK 'acme_erp' has no usable version (versions: v1 REVOKED): build a new "
         "version with `erp sdk build` (received: 'acme_erp')"],
    ),
    (
        "capability_withdrawn", VALID,
        lambda e, t: insert_sdk(e, t),
        _restrict_capabilities,
        ["compatibility.required_capabilities[0]: capability not offered by the SDKs this workflow uses "
         "(acme_erp v1) (did you mean 'read:customers'?): remove it or use an SDK version that offers it "
         "(received: 'read:orders')"],
    ),
    (
        "pinned_version_deleted", PINNED_TO_2,
        lambda e, t: (insert_sdk(e, t), insert_sdk(e, t, version=2, status="TESTING")),
        lambda e, t: _delete_sdk(e, t, 2),
        ["compatibility.required_sdk_version: SDK 'acme_erp' has no version 2 (versions: v1 ACTIVE): set "
         "required_sdk_version to one of them or remove it (received: 2)"],
    ),
    (
        "pinned_version_not_active", PINNED_TO_2,
        lambda e, t: (insert_sdk(e, t), insert_sdk(e, t, version=2, status="TESTING")),
        lambda e, t: None,
        ["activities[0].config.sdk: SDK acme_erp v2 is TESTING, not ACTIVE (versions: v1 ACTIVE, v2 "
         "TESTING): activate that SDK version first or pin compatibility.required_sdk_version to an ACTIVE "
         "one (received: 'acme_erp')"],
    ),
    (
        "operation_removed_in_newer_active_version", VALID,
        lambda e, t: insert_sdk(e, t),
        lambda e, t: insert_sdk(e, t, version=2, spec={
            "name": "acme_erp",
            "operations": [{"id": "list_customers", "method": "GET", "resource": "customers",
                            "collection": True, "entity": "Customer",
                            "parameters": [{"name": "company_id", "required": True}]}],
            "entities": [{"name": "Customer", "keys": ["id"], "fields": [{"name": "id", "kind": "integer"},
                                                                         {"name": "name", "kind": "string"}]}],
        }),
        ["activities[0].config.operation: SDK acme_erp v2 has no operation 'list_orders': did you mean "
         "'list_customers'? (received: 'list_orders')",
         "compatibility.required_capabilities[0]: capability not offered by the SDKs this workflow uses "
         "(acme_erp v2) (did you mean 'read:customers'?): remove it or use an SDK version that offers it "
         "(received: 'read:orders')"],
    ),
]


@pytest.mark.parametrize(
    ("text", "before_apply", "before_activate", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ACTIVATION_CASES],
)
def test_activation_checks_compatibility(
    registry: WorkflowRegistry,
    new_tenant: Callable[[], str],
    engine: Engine,
    text: str,
    before_apply: Callable[[Engine, str], None],
    before_activate: Callable[[Engine, str], None],
    expected: list[str],
) -> None:
    tenant = new_tenant()
    before_apply(engine, tenant)
    record, _ = registry.apply(tenant, text, "orders.yaml")
    before_activate(engine, tenant)
    with pytest.raises(CompatibilityError) as info:
        registry.activate(tenant, "orders_sync", record.version)
    assert [p.render() for p in info.value.problems] == expected
    assert str(info.value).startswith(
        f"cannot activate workflow 'orders_sync' version 1 of tenant {tenant!r}: {len(expected)} problem"
    )
    assert [r.status for r in registry.list(tenant)] == ["DRAFT"]
    assert _audit(engine, tenant, "workflow.activate") == []


def test_activation_requires_an_active_mapping(
    registry: WorkflowRegistry, mappings: MappingRegistry, tenant: str
) -> None:
    mappings.apply(tenant, "name: sales_map\ncolumns:\n  - {source: id, target: order_id, type: bigint}\n",
                   "sales_map.yaml")
    by_ref = VALID.replace(
        """      mapping:
        columns:
          - {source: id, target: order_id, type: bigint, nullable: false}
          - {source: customer_name, target: customer, type: text}
          - {source: total, target: amount, type: "numeric(12,2)"}
""",
        "      mapping_ref: sales_map\n",
    )
    record, _ = registry.apply(tenant, by_ref, "orders.yaml")
    with pytest.raises(CompatibilityError) as info:
        registry.activate(tenant, "orders_sync", record.version)
    assert [p.render() for p in info.value.problems] == [
        "activities[3].config.mapping_ref: mapping 'sales_map' has no ACTIVE version (newest: v1 DRAFT): "
        "activate it first with `erp mapping activate TENANT sales_map 1` (received: 'sales_map')"
    ]
    mappings.activate(tenant, "sales_map", 1)
    assert registry.activate(tenant, "orders_sync", record.version).status == "ACTIVE"


# -- deprecate / retire --------------------------------------------------------------------------------
def test_deprecate_sets_dates_without_changing_content(
    registry: WorkflowRegistry, tenant: str, engine: Engine
) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    with pytest.raises(ConflictError) as info:
        registry.deprecate(tenant, "orders_sync", 1, datetime(2027, 1, 1))
    assert str(info.value) == (
        f"workflow 'orders_sync' version 1 of tenant {tenant!r} is a DRAFT that never ran: retire it instead "
        f"with `erp workflow retire {tenant} orders_sync 1`"
    )
    registry.activate(tenant, "orders_sync", 1)
    with pytest.raises(InvalidInputError) as bad:
        registry.deprecate(tenant, "orders_sync", 1, datetime(2027, 2, 1), datetime(2027, 1, 1))
    assert str(bad.value) == (
        "force_cancel_after (2027-01-01T00:00:00+00:00) is before deprecated_after "
        "(2027-02-01T00:00:00+00:00): "
        "running executions are cancelled only after the version is deprecated, so pass a "
        "--force-cancel-after "
        "on or after --after"
    )
    march = datetime(2027, 3, 1, tzinfo=UTC)
    dated = registry.deprecate(tenant, "orders_sync", 1, datetime(2027, 1, 1), march)
    assert (dated.status, dated.content_hash) == ("ACTIVE", record.content_hash)
    assert dated.deprecated_after == datetime(2027, 1, 1, tzinfo=UTC)
    assert dated.force_cancel_after == datetime(2027, 3, 1, tzinfo=UTC)
    assert dated.is_deprecated_at(datetime(2027, 1, 2, tzinfo=UTC))
    assert not dated.is_deprecated_at(datetime(2026, 12, 31, tzinfo=UTC))
    assert dated.accepts_new_runs_at(datetime(2027, 2, 1, tzinfo=UTC))
    assert not dated.accepts_new_runs_at(datetime(2027, 3, 2, tzinfo=UTC))
    _, definition = registry.get(tenant, "orders_sync")
    assert definition.lifecycle.deprecated_after == datetime(2027, 1, 1, tzinfo=UTC)
    [entry] = _audit(engine, tenant, "workflow.deprecate")
    assert entry.details == {"version": 1, "status": "ACTIVE",
                             "deprecated_after": "2027-01-01T00:00:00+00:00",
                             "force_cancel_after": "2027-03-01T00:00:00+00:00"}


def test_retire_is_final(registry: WorkflowRegistry, tenant: str, engine: Engine) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    registry.activate(tenant, "orders_sync", 1)
    retired = registry.retire(tenant, "orders_sync", 1)
    assert (retired.status, retired.retired_at is not None) == ("RETIRED", True)
    assert retired.must_cancel_at(datetime.now(UTC))
    assert registry.retire(tenant, "orders_sync", 1) == retired  # idempotent
    assert registry.active_definitions(tenant) == []
    with pytest.raises(ConflictError) as info:
        registry.activate(tenant, "orders_sync", 1)
    assert str(info.value) == (
        f"workflow 'orders_sync' version 1 of tenant {tenant!r} is RETIRED, which is final: apply the "
        "definition again to get a new version, then activate that one"
    )
    with pytest.raises(ConflictError):
        registry.deprecate(tenant, "orders_sync", 1, datetime(2027, 1, 1))
    again, created = registry.apply(tenant, VALID, "orders.yaml")
    assert (again.version, created, again.content_hash) == (2, True, record.content_hash)
    assert [e.details["from_status"] for e in _audit(engine, tenant, "workflow.retire")] == ["ACTIVE"]
    with engine.begin() as conn, pytest.raises(DBAPIError) as db:
        conn.execute(update(WorkflowDefinitionRow).where(WorkflowDefinitionRow.id == record.id)
                     .values(status="DRAFT"))
    assert "orders_sync version 1 is RETIRED, which is final; apply a new version" in str(db.value)


# -- reads ---------------------------------------------------------------------------------------------
def test_get_defaults_to_active_else_newest(registry: WorkflowRegistry, tenant: str) -> None:
    registry.apply(tenant, VALID, "orders.yaml")
    registry.apply(tenant, CHANGED, "orders.yaml")
    assert registry.get(tenant, "orders_sync")[0].version == 2
    registry.activate(tenant, "orders_sync", 1)
    record, definition = registry.get(tenant, "orders_sync")
    assert (record.version, definition.id) == (1, "orders_sync")
    assert registry.get(tenant, "orders_sync", 2)[0].version == 2
    with pytest.raises(NotFoundError) as missing_version:
        registry.get(tenant, "orders_sync", 9)
    assert str(missing_version.value) == (
        f"workflow 'orders_sync' of tenant {tenant!r} has no version 9 (versions: 1, 2)"
    )
    with pytest.raises(NotFoundError) as missing:
        registry.get(tenant, "nope")
    assert str(missing.value) == (
        f"workflow 'nope' does not exist for tenant {tenant!r}; list its workflows with `erp workflow list "
        f"{tenant}`"
    )
    with pytest.raises(NotFoundError) as no_tenant:
        registry.list("no_such_tenant")
    assert str(no_tenant.value) == (
        "tenant 'no_such_tenant' does not exist; list tenants with `erp tenant list`"
    )


def test_verify_compares_the_run_hash(registry: WorkflowRegistry, tenant: str) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    assert registry.verify(tenant, "orders_sync", 1, record.content_hash) == record
    with pytest.raises(ArtifactIntegrityError) as info:
        registry.verify(tenant, "orders_sync", 1, "0" * 64)
    assert str(info.value) == (
        f"workflow 'orders_sync' version 1 of tenant {tenant!r} changed since the run started: expected hash "
        f"{'0' * 64}, actual {record.content_hash}; start a new run"
    )


# -- immutability and tampering ------------------------------------------------------------------------
def test_database_refuses_changing_an_active_version(
    registry: WorkflowRegistry, tenant: str, engine: Engine
) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    registry.activate(tenant, "orders_sync", 1)
    with engine.begin() as conn, pytest.raises(DBAPIError) as info:
        conn.execute(text(
            "UPDATE erp_control.workflow_definitions SET definition = jsonb_set(definition, "
            "'{description}', '\"changed\"') WHERE id = :id"
        ), {"id": record.id})
    assert (
        "erp_control.workflow_definitions: orders_sync version 1 is ACTIVE and immutable: its definition and "
        "content_hash cannot change; apply a new version"
    ) in str(info.value)
    with engine.begin() as conn, pytest.raises(DBAPIError) as renumber:
        conn.execute(
            update(WorkflowDefinitionRow).where(WorkflowDefinitionRow.id == record.id).values(version=7)
        )
    assert "the tenant, name and version of an artifact never change" in str(renumber.value)
    assert registry.get(tenant, "orders_sync")[0] == registry.activate(tenant, "orders_sync", 1)


def _tamper(engine: Engine, row_id: int, sql_set: str) -> None:
    """Change a row behind the registry's back, as a superuser who disables the immutability trigger."""
    with engine.begin() as conn:
        table = "erp_control.workflow_definitions"
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER workflow_definitions_immutable"))
        conn.execute(text(f"UPDATE {table} SET {sql_set} WHERE id = :id"), {"id": row_id})
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER workflow_definitions_immutable"))


def test_tampered_definition_is_detected(registry: WorkflowRegistry, tenant: str, engine: Engine) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    registry.activate(tenant, "orders_sync", 1)
    _tamper(engine, record.id,
            "definition = jsonb_set(definition, '{activities,0,config,page_size}', '10000')")
    tampered_text = VALID.replace("incremental: true", "incremental: true\n      page_size: 10000")
    tampered = parse_definition(tampered_text, filename="t.yaml")
    expected = (
        f"workflow 'orders_sync' version 1 of tenant {tenant!r} does not match its content hash: expected "
        f"{record.content_hash}, actual {content_hash(tampered)}. The stored definition was changed outside "
        "the registry: do not run it; apply the definition again from its source and activate the new version"
    )
    with pytest.raises(ArtifactIntegrityError) as listed:
        registry.active_definitions(tenant)
    assert str(listed.value) == expected
    with pytest.raises(ArtifactIntegrityError) as read:
        registry.get(tenant, "orders_sync", 1)
    assert str(read.value) == expected
    with engine.connect() as conn:  # the trigger is back on
        enabled = conn.execute(text(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'workflow_definitions_immutable'"
        )).scalar_one()
    assert enabled == "O"


def test_tampered_hash_column_is_detected(registry: WorkflowRegistry, tenant: str, engine: Engine) -> None:
    record, _ = registry.apply(tenant, VALID, "orders.yaml")
    _tamper(engine, record.id, "content_hash = repeat('a', 64)")
    with pytest.raises(ArtifactIntegrityError) as info:
        registry.activate(tenant, "orders_sync", 1)
    assert f"expected {'a' * 64}, actual {record.content_hash}" in str(info.value)
    assert [r.status for r in registry.list(tenant)] == ["DRAFT"]


# -- concurrency ---------------------------------------------------------------------------------------
def test_concurrent_applies_and_activations_stay_consistent(registry: WorkflowRegistry, tenant: str) -> None:
    texts = [VALID.replace('"0 * * * *"', f'"{minute} * * * *"') for minute in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t: registry.apply(tenant, t, "orders.yaml"), texts))
    assert sorted(r.version for r, _ in results) == [1, 2, 3, 4, 5, 6]
    assert all(created for _, created in results)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda v: registry.activate(tenant, "orders_sync", v), range(1, 7)))
    statuses = [r.status for r in registry.list(tenant)]
    assert statuses.count("ACTIVE") == 1
    assert statuses.count("DEPRECATED") == 5
