"""The mock ERP's SDK end to end: build, activate, credentials, private egress allowed, call and sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.registry import AuditEntry, SdkVersion, Tenant
from erp_platform.registry._models import SdkRequest
from erp_platform.sandbox import FieldKind, PageResult, normalise_records
from erp_platform.sdks import RecordedSession, SdkService, SdkStatusError, SdkVersionInfo
from erp_platform.tenancy import TenantService
from sdk_builder import load_spec
from tests.sdks.conftest import ERP_AUTH, MOCK_ROWS, ReadySdk, connect_tenant, store_mock_credentials

CUSTOMER_OPERATIONS = {
    "odata_v4_list_customers": {"tenant": "acme"},
    "odata_v2_list_customers": {},
    "list_customers": {},
}


@pytest.fixture(scope="module")
def customer_kinds(mock_spec: bytes) -> dict[str, FieldKind]:
    kinds = load_spec(mock_spec, filename="openapi.json").spec.entity("Customer").field_kinds()
    assert kinds["created_at"] is FieldKind.DATETIME and kinds["balance"] is FieldKind.NUMBER
    return kinds


def _expected(erp_mock: MockErpServer, kinds: dict[str, FieldKind]) -> list[dict[str, Any]]:
    return normalise_records(list(erp_mock.expected_records("acme", "customers")), kinds)


def _records(pages: list[PageResult]) -> list[dict[str, Any]]:
    return [record for page in pages for record in page.records]


def _requests(engine: Engine, tenant: str, run_id: str) -> list[SdkRequest]:
    with Session(engine) as session:
        return list(session.scalars(
            select(SdkRequest).where(SdkRequest.tenant_slug == tenant, SdkRequest.run_id == run_id)
            .order_by(SdkRequest.id)
        ))


def _audit_count(engine: Engine, tenant: str, action: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.tenant_slug == tenant, AuditEntry.action == action)
        ).scalar() or 0)


@pytest.mark.parametrize("operation", sorted(CUSTOMER_OPERATIONS))
def test_call_pages_through_customers_in_each_api_style(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer, engine: Engine, operation: str,
    customer_kinds: dict[str, FieldKind],
) -> None:
    run_id = f"run-{operation}"
    params = {**CUSTOMER_OPERATIONS[operation], "_page_size": 25}
    pages = service.call(ready_sdk.tenant, "mock_erp", operation, params, pages=10, run_id=run_id)
    assert [len(p.records) for p in pages] == [25, 25, MOCK_ROWS - 50]
    assert pages[-1].next is None and all(p.next for p in pages[:-1])
    entity = "CustomerV2" if operation.startswith("odata_v2") else "Customer"
    assert all(p.entity == entity and p.status == 200 for p in pages)
    assert _records(pages) == _expected(erp_mock, customer_kinds)
    requests = _requests(engine, ready_sdk.tenant, run_id)
    assert [(r.sdk_name, r.sdk_version, r.operation, r.method, r.status, r.attempt) for r in requests] == [
        ("mock_erp", 1, operation, "GET", 200, 1)
    ] * 3
    assert all(r.host == f"127.0.0.1:{erp_mock.port}" and r.bytes > 0 and r.error is None for r in requests)
    token = ERP_AUTH["acme"].token
    for r in requests:
        assert token not in json.dumps([r.host, r.path, r.error]) and "?" not in r.path


def test_pages_is_a_bound_and_the_token_continues(service: SdkService, ready_sdk: ReadySdk) -> None:
    first = service.call(ready_sdk.tenant, "mock_erp", "list_items", {"_page_size": 4}, pages=2)
    assert [len(p.records) for p in first] == [4, 4] and first[-1].next is not None
    params = {"_page_size": 4, "_next": first[-1].next}
    rest = service.call(ready_sdk.tenant, "mock_erp", "list_items", params)
    assert rest[0].records[0]["id"] == 9


def test_single_record_operations_return_the_normalised_record(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer, customer_kinds: dict[str, FieldKind]
) -> None:
    [page] = service.call(ready_sdk.tenant, "mock_erp", "get_customer", {"id": 7})
    assert page.records == [] and page.next is None
    assert page.result == _expected(erp_mock, customer_kinds)[6]


def test_each_credential_is_read_once_per_session(
    service: SdkService, ready_sdk: ReadySdk, engine: Engine
) -> None:
    before = _audit_count(engine, ready_sdk.tenant, "credential.get")
    with service.open_session(ready_sdk.tenant, "mock_erp") as session:
        pages = list(session.iter_pages("odata_v2_list_customers", {"_page_size": 10}))
        session.call("list_items", {})
    assert len(pages) == 6
    assert _audit_count(engine, ready_sdk.tenant, "credential.get") == before + 2  # token, x_erp_tenant


def test_a_session_records_its_requests_when_it_closes(
    service: SdkService, ready_sdk: ReadySdk, engine: Engine
) -> None:
    session = service.open_session(ready_sdk.tenant, "mock_erp", 1, run_id="run-close")
    assert isinstance(session, RecordedSession)
    with session:
        session.call("list_invoices", {"_page_size": 5})
        assert _requests(engine, ready_sdk.tenant, "run-close") == []
    recorded = _requests(engine, ready_sdk.tenant, "run-close")
    assert [(r.operation, r.path, r.status) for r in recorded] == [("list_invoices", "/api/v1/invoices", 200)]
    session.close()  # idempotent
    assert len(_requests(engine, ready_sdk.tenant, "run-close")) == 1


def test_api_key_auth_can_be_chosen_at_build_time(
    service: SdkService, mock_spec: bytes, new_tenant: Callable[..., str], tenants: TenantService,
    credentials: CredentialStore, erp_mock: MockErpServer,
) -> None:
    tenant = new_tenant("apikey")
    info = service.build(tenant, mock_spec, filename="openapi.json", auth_scheme="apiKeyAuth")
    assert info.status == "TESTING", info.test_summary()
    connect_tenant(tenants, credentials, erp_mock, tenant)
    credentials.set(tenant, "api_key", ERP_AUTH["acme"].api_key, sdk="mock_erp")
    [page] = service.call(tenant, "mock_erp", "list_customers", {"_page_size": 3})
    assert [r["id"] for r in page.records] == [1, 2, 3]


# -- versions and statuses -------------------------------------------------------------------------------


@pytest.fixture
def lifecycle(service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo],
              credentials: CredentialStore) -> str:
    """A tenant with mock_erp v1 (TESTING) and its credentials; tests build more versions as they need."""
    tenant = mock_sdk_factory("life").tenant
    store_mock_credentials(credentials, tenant)
    return tenant


def test_default_versions_newest_active_else_newest(
    service: SdkService, lifecycle: str, mock_spec: bytes
) -> None:
    tenant = lifecycle
    service.build(tenant, mock_spec, filename="openapi-v2.json")  # v2 TESTING (another option: a new version)
    assert service.get(tenant, "mock_erp").version == 2  # no ACTIVE one: the newest
    service.activate(tenant, "mock_erp", 1)
    assert service.get(tenant, "mock_erp").version == 1  # the newest ACTIVE one
    assert service.get(tenant, "mock_erp", 2).status == "TESTING"
    service.activate(tenant, "mock_erp", 2)
    assert [(i.version, i.status) for i in service.list(tenant)] == [(1, "ACTIVE"), (2, "ACTIVE")]
    assert service.get(tenant, "mock_erp").version == 2
    with service.open_session(tenant, "mock_erp") as session:
        assert session.manifest.sdk_version == 2
    with service.open_session(tenant, "mock_erp", 1) as session:
        assert session.manifest.sdk_version == 1


def test_activate_and_revoke_are_audited_and_revoked_is_final(
    service: SdkService, lifecycle: str, engine: Engine
) -> None:
    tenant = lifecycle
    active = service.activate(tenant, "mock_erp", 1)
    assert active.status == "ACTIVE" and active.activated_at is not None
    assert service.activate(tenant, "mock_erp", 1) == active  # already ACTIVE: unchanged
    revoked = service.revoke(tenant, "mock_erp", 1)
    assert revoked.status == "REVOKED" and revoked.revoked_at is not None
    assert service.revoke(tenant, "mock_erp", 1) == revoked
    with pytest.raises(SdkStatusError) as caught:
        service.activate(tenant, "mock_erp", 1)
    assert str(caught.value) == (
        f"SDK 'mock_erp' v1 of tenant {tenant!r} is REVOKED, which is final; build a new version and "
        "activate "
        "that one"
    )
    with Session(engine) as session:
        actions = [(e.action, e.target_id, e.details.get("from_status")) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_slug == tenant, AuditEntry.target_type == "sdk")
            .order_by(AuditEntry.id))]
    assert actions == [
        ("sdk.build", "mock_erp@1", None), ("sdk.activate", "mock_erp@1", "TESTING"),
        ("sdk.revoke", "mock_erp@1", "ACTIVE"),
    ]


def test_only_active_versions_open_and_call_also_runs_testing_ones(
    service: SdkService, lifecycle: str, tenants: TenantService, credentials: CredentialStore,
    erp_mock: MockErpServer,
) -> None:
    tenant = lifecycle
    connect_tenant(tenants, credentials, erp_mock, tenant)
    with pytest.raises(SdkStatusError) as caught:
        service.open_session(tenant, "mock_erp", 1)
    assert str(caught.value) == (
        f"SDK 'mock_erp' v1 of tenant {tenant!r} is TESTING: activate it first (`erp sdk activate {tenant} "
        "mock_erp 1`); only ACTIVE versions open for workflows (`erp sdk call` also runs TESTING ones)"
    )
    with pytest.raises(SdkStatusError) as caught:
        service.open_session(tenant, "mock_erp")
    assert str(caught.value) == (
        f"SDK 'mock_erp' of tenant {tenant!r} has no ACTIVE version (versions: v1 TESTING); activate "
        "one with "
        f"`erp sdk activate {tenant} mock_erp VERSION`"
    )
    [page] = service.call(tenant, "mock_erp", "list_customers", {"_page_size": 2})
    assert len(page.records) == 2
    service.revoke(tenant, "mock_erp", 1)
    for attempt in (lambda: service.open_session(tenant, "mock_erp", 1),
                    lambda: service.call(tenant, "mock_erp", "list_customers", {}, version=1)):
        with pytest.raises(SdkStatusError) as caught:
            attempt()
        assert str(caught.value) == (
            f"SDK 'mock_erp' v1 of tenant {tenant!r} is REVOKED: it can no longer be opened or called; "
            "use an "
            f"ACTIVE version (`erp sdk list {tenant}`) or build a new one"
        )


def test_a_build_whose_sandbox_tests_fail_is_registered_failed_and_never_runs(
    service: SdkService, mock_spec: bytes, new_tenant: Callable[..., str], engine: Engine
) -> None:
    tenant = new_tenant("failed")
    # A wrong constant tenant header: the mock ERP refuses every request, so every operation fails.
    info = service.build(tenant, mock_spec, filename="openapi.json", headers={"X-ERP-Tenant": "nobody"})
    assert info.status == "FAILED"
    report = info.test_results
    assert report is not None and not report.passed and report.describe_ok
    assert len(report.failed) == 20
    first = report.results[0]
    assert first.operation == "odata_v4_list_customers" and first.checks == ()
    assert first.error is not None and first.error.startswith(
        f"SdkCallError: tenant {tenant!r}, SDK 'mock_erp' v1, operation 'odata_v4_list_customers': the SDK "
        "reported http_error (HTTP 403)"
    )
    assert info.test_summary() == (
        "0/20 operations passed against the mock ERP; failed: odata_v4_list_customers, "
        "odata_v2_list_customers, "
        "list_customers, odata_v4_list_items, odata_v2_list_items and 15 more"
    )
    with Session(engine) as session:
        row = session.scalars(select(SdkVersion).join(Tenant, Tenant.id == SdkVersion.tenant_id)
                              .where(Tenant.slug == tenant)).one()
    assert row.status == "FAILED" and row.test_results["passed"] is False
    expected = (
        f"SDK 'mock_erp' v1 of tenant {tenant!r} FAILED its sandbox tests ({info.test_summary()})"
    )
    with pytest.raises(SdkStatusError) as caught:
        service.activate(tenant, "mock_erp", 1)
    assert str(caught.value) == (
        f"{expected} and cannot be activated; see `erp sdk show {tenant} mock_erp --version 1`, fix the spec "
        "and build again"
    )
    with pytest.raises(SdkStatusError) as caught:
        service.call(tenant, "mock_erp", "list_customers", {})
    assert str(caught.value) == (
        f"SDK 'mock_erp' of tenant {tenant!r} has no ACTIVE or TESTING version (versions: v1 FAILED); "
        "activate "
        f"one with `erp sdk activate {tenant} mock_erp VERSION`"
    )
    with pytest.raises(SdkStatusError) as caught:
        service.open_session(tenant, "mock_erp", 1)
    assert str(caught.value) == (
        f"{expected}: it cannot be opened or called; fix the spec and build again"
    )
