"""Private egress: the mock ERP on 127.0.0.1 is reachable only after the tenant allowed it explicitly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.registry._models import SdkRequest
from erp_platform.sandbox import EgressDenied
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.sdks.conftest import connect_tenant


def _served(erp_mock: MockErpServer) -> int:
    return sum(erp_mock.stats().by_path.get("/api/v1/customers", {}).values())


def test_without_the_allowance_the_loopback_erp_is_refused(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], tenants: TenantService,
    credentials: CredentialStore, erp_mock: MockErpServer, engine: Engine,
) -> None:
    info = mock_sdk_factory("egress")
    tenant = info.tenant
    connect_tenant(tenants, credentials, erp_mock, tenant, egress=False)
    service.activate(tenant, "mock_erp", 1)
    denied = (
        f"tenant {tenant!r}, SDK 'mock_erp' v1, operation 'list_customers': egress denied for "
        f"http://127.0.0.1:{erp_mock.port}/api/v1/customers: 127.0.0.1 is a loopback address; private, "
        "loopback, "
        "link-local, CGNAT, multicast, unspecified and metadata addresses are refused unless the tenant's "
        f"egress policy allows '127.0.0.1:{erp_mock.port}'"
    )
    served = _served(erp_mock)
    with pytest.raises(EgressDenied) as caught:
        service.call(tenant, "mock_erp", "list_customers", {}, run_id="egress-1")
    assert str(caught.value) == denied
    assert _served(erp_mock) == served  # refused before any connection
    with Session(engine) as session:
        [record] = session.scalars(select(SdkRequest).where(SdkRequest.run_id == "egress-1"))
    assert (record.tenant_slug, record.status, record.path) == (tenant, None, "/api/v1/customers")
    assert record.error is not None and record.error.startswith("EgressDenied: egress denied for")

    tenants.allow_private_egress(tenant, f"127.0.0.1:{erp_mock.port}")
    [page] = service.call(tenant, "mock_erp", "list_customers", {"_page_size": 2})
    assert len(page.records) == 2

    # the policy is read again by each session
    tenants.allow_private_egress(tenant, f"127.0.0.1:{erp_mock.port}", allow=False)
    with pytest.raises(EgressDenied) as caught, service.open_session(tenant, "mock_erp") as session:
        session.call("list_customers", {})
    assert str(caught.value) == denied


def test_another_port_of_the_same_host_stays_refused(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], tenants: TenantService,
    credentials: CredentialStore, erp_mock: MockErpServer,
) -> None:
    info = mock_sdk_factory("egressport")
    connect_tenant(tenants, credentials, erp_mock, info.tenant, egress=False)
    tenants.allow_private_egress(info.tenant, f"127.0.0.1:{erp_mock.port + 1}")
    with pytest.raises(EgressDenied) as caught:
        service.call(info.tenant, "mock_erp", "list_customers", {})
    assert f"unless the tenant's egress policy allows '127.0.0.1:{erp_mock.port}'" in str(caught.value)
