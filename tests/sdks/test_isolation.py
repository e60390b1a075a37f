"""Tenant isolation, adversarially: tenant B cannot see, change, run or open A's SDK, nor its secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from erp_platform._errors import CredentialError, NotFoundError
from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.objectstore import LocalObjectStore, tenant_prefix
from erp_platform.registry import AuditEntry
from erp_platform.sdks import SdkService, SdkStatusError, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.sdks.conftest import ReadySdk, connect_tenant


@pytest.fixture(scope="module")
def tenant_b(new_tenant: Callable[..., str]) -> str:
    return new_tenant("intruder")


def _missing(tenant_b: str) -> str:
    return (
        f"SDK 'mock_erp' of tenant {tenant_b!r} does not exist (its SDKs: none); build it with "
        f"`erp sdk build {tenant_b} --spec FILE`"
    )


ATTEMPTS: dict[str, Callable[[SdkService, str], Any]] = {
    "show": lambda s, b: s.get(b, "mock_erp"),
    "show version": lambda s, b: s.get(b, "mock_erp", 1),
    "activate": lambda s, b: s.activate(b, "mock_erp", 1),
    "revoke": lambda s, b: s.revoke(b, "mock_erp", 1),
    "call": lambda s, b: s.call(b, "mock_erp", "list_customers", {}),
    "open": lambda s, b: s.open_session(b, "mock_erp"),
    "open version": lambda s, b: s.open_session(b, "mock_erp", 1),
}


@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_tenant_b_cannot_reach_tenant_as_sdk(
    service: SdkService, ready_sdk: ReadySdk, tenant_b: str, attempt: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        ATTEMPTS[attempt](service, tenant_b)
    assert str(caught.value) == _missing(tenant_b)
    assert service.get(ready_sdk.tenant, "mock_erp").status == "ACTIVE"  # untouched


def test_tenant_b_lists_only_its_own_sdks(service: SdkService, ready_sdk: ReadySdk, tenant_b: str) -> None:
    assert service.list(tenant_b) == []
    assert [i.tenant for i in service.list(ready_sdk.tenant)] == [ready_sdk.tenant]


def test_same_sdk_name_in_b_reads_only_bs_credentials(
    service: SdkService, ready_sdk: ReadySdk, mock_sdk_factory: Callable[..., SdkVersionInfo],
    tenants: TenantService, engine: Engine, mock_erp: MockErpServer,
) -> None:
    """B builds its own mock_erp SDK (same name, same code) without storing credentials: activation refuses
    it, and its session asks B's credential store for 'token' and fails, never falling back on A's identical
    credential of the same SDK name."""
    info = mock_sdk_factory("samename")
    b = info.tenant
    tenants.allow_private_egress(b, f"127.0.0.1:{mock_erp.port}")
    reads_of_a = _credential_reads(engine, ready_sdk.tenant)
    with pytest.raises(SdkStatusError, match=f"SDK 'mock_erp' v1 of tenant '{b}' cannot be activated"):
        service.activate(b, "mock_erp", 1)
    with pytest.raises(CredentialError) as caught:
        service.call(b, "mock_erp", "list_customers", {})  # a TESTING version runs for `erp sdk call`
    assert str(caught.value) == (
        f"credential 'token' of SDK 'mock_erp' of tenant {b!r} is not set; v1 sends it as a token: set it with "
        f"`printf %s VALUE | erp credentials set {b} token --sdk mock_erp`"
    )
    assert _credential_reads(engine, ready_sdk.tenant) == reads_of_a
    assert (info.name, info.version) == ("mock_erp", 1)  # versions are numbered per tenant


def test_a_second_sdk_of_the_same_tenant_cannot_collect_the_firsts_credentials(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], mock_spec: bytes,
    tenants: TenantService, credentials: CredentialStore, engine: Engine, mock_erp: MockErpServer,
) -> None:
    """The spec of a new SDK merely declares the headers the first one sends (Authorization, X-ERP-Tenant):
    the host reads credentials of the new SDK only, so it gets nothing, and its activation is refused."""
    first = mock_sdk_factory("collect")
    tenant = first.tenant
    connect_tenant(tenants, credentials, mock_erp, tenant)
    service.activate(tenant, "mock_erp", 1)
    collector = service.build(tenant, mock_spec, filename="collector.json", name="collector")
    assert collector.status == "TESTING", collector.test_summary()
    assert [c.name for c in collector.credentials] == ["token", "x_erp_tenant"]
    requests_before = mock_erp.stats().total
    with pytest.raises(SdkStatusError) as refused:
        service.activate(tenant, "collector", 1)
    assert str(refused.value) == (
        f"SDK 'collector' v1 of tenant {tenant!r} cannot be activated: it sends credentials that are not set for "
        "SDK 'collector' (credentials are bound to the SDK that sends them; another SDK's are never used). Set "
        "each, then activate again: token (access token sent as a bearer token (security scheme `bearerAuth` "
        f"(http))): `printf %s \"$VALUE\" | erp credentials set {tenant} token --sdk collector`; x_erp_tenant "
        "(value of the X-ERP-Tenant header: ERP tenant (company) code; must be the tenant of the credentials.): "
        f"`printf %s \"$VALUE\" | erp credentials set {tenant} x_erp_tenant --sdk collector`"
    )
    with pytest.raises(CredentialError, match="credential 'token' of SDK 'collector'"):
        service.call(tenant, "collector", "list_customers", {})
    assert mock_erp.stats().total == requests_before  # nothing was sent, with or without a credential
    with engine.connect() as conn:
        reads = conn.execute(
            select(AuditEntry.details).where(AuditEntry.tenant_slug == tenant,
                                             AuditEntry.action == "credential.get")
        ).scalars().all()
    assert reads and all(d["sdk"] == "collector" and d.get("outcome") == "failed" for d in reads)
    [page] = service.call(tenant, "mock_erp", "list_customers", {"_page_size": 2})  # the first SDK still works
    assert len(page.records) == 2


def _credential_reads(engine: Engine, tenant: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.tenant_slug == tenant, AuditEntry.action == "credential.get")
        ).scalar() or 0)


def test_as_artifacts_are_only_under_as_prefix(
    service: SdkService, ready_sdk: ReadySdk, objects: LocalObjectStore, tenant_b: str,
    credentials: CredentialStore,
) -> None:
    refs = service.get(ready_sdk.tenant, "mock_erp").artifacts.model_dump().values()
    prefix = f"tenants/{ready_sdk.tenant}/sdks/mock_erp/v1/"
    assert all(ref is not None and ref.startswith(prefix) for ref in refs)
    a_objects = {key.path for key in objects.list(tenant_prefix(ready_sdk.tenant))}
    assert a_objects and all(path.startswith(prefix) for path in a_objects)
    assert objects.list(tenant_prefix(tenant_b)) == []
    assert credentials.list(tenant_b) == []
