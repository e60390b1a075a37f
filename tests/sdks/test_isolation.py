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
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.sdks.conftest import ReadySdk


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
    """B builds its own mock_erp SDK (same name, same code) without storing credentials: its session asks
    B's credential store for 'token' and fails, never falling back on A's identical credential name."""
    info = mock_sdk_factory("samename")
    b = info.tenant
    service.activate(b, "mock_erp", 1)
    tenants.allow_private_egress(b, f"127.0.0.1:{mock_erp.port}")
    reads_of_a = _credential_reads(engine, ready_sdk.tenant)
    with pytest.raises(CredentialError) as caught:
        service.call(b, "mock_erp", "list_customers", {})
    assert str(caught.value) == (
        f"credential 'token' of tenant {b!r} is not set; SDK 'mock_erp' v1 sends it as a token: set it with "
        f"`printf %s VALUE | erp credentials set {b} token`"
    )
    assert _credential_reads(engine, ready_sdk.tenant) == reads_of_a
    assert (info.name, info.version) == ("mock_erp", 1)  # versions are numbered per tenant


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
