"""Fixtures of the assistant tests: tenants with an ACTIVE mock ERP SDK (real componentize-py build, cached
by content hash; real wasmtime; the real mock ERP), the session database, and assistants on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from assistant import Assistant, AssistantSettings, Model
from erp_platform.credentials import CredentialStore
from erp_platform.mock_erp import MockErpServer
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.sdks import conftest as sdk_fixtures
from tests.sdks.conftest import connect_tenant

# the SDK tests' fixtures: real builds cached by content hash, the mock ERP, the credential store
wasm_cache = sdk_fixtures.wasm_cache
runtime = sdk_fixtures.runtime
objects = sdk_fixtures.objects
credentials = sdk_fixtures.credentials
service = sdk_fixtures.service
new_tenant = sdk_fixtures.new_tenant
mock_erp = sdk_fixtures.mock_erp
erp_mock = sdk_fixtures.erp_mock
mock_spec = sdk_fixtures.mock_spec
mock_sdk_factory = sdk_fixtures.mock_sdk_factory


@dataclass(frozen=True)
class Ready:
    """A tenant with the mock ERP's SDK ACTIVE, its credentials stored and the mock's address allowed."""

    tenant: str
    sdk: SdkVersionInfo


@pytest.fixture(scope="session")
def ready_tenant(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], tenants: TenantService,
    credentials: CredentialStore, mock_erp: MockErpServer,
) -> Callable[[str], Ready]:
    def make(prefix: str = "asst") -> Ready:
        info = mock_sdk_factory(prefix)
        assert info.status == "TESTING", info.test_summary()
        connect_tenant(tenants, credentials, mock_erp, info.tenant)
        active = service.activate(info.tenant, info.name, info.version)
        return Ready(tenant=info.tenant, sdk=active)

    return make


@pytest.fixture(scope="session")
def tenant_a(ready_tenant: Callable[[str], Ready]) -> Ready:
    return ready_tenant("alpha")


@pytest.fixture(scope="session")
def tenant_b(
    service: SdkService, mock_spec: bytes, new_tenant: Callable[..., str], tenants: TenantService,
    credentials: CredentialStore, mock_erp: MockErpServer, engine: Engine,
) -> Ready:
    """Tenant B: its own SDK name (bravo_erp), a private table and columns A must never see."""
    tenant = new_tenant("bravo")
    info = service.build(tenant, mock_spec, filename="openapi.json", name="bravo_erp")
    connect_tenant(tenants, credentials, mock_erp, tenant, erp_tenant="globex", sdk=info.name)
    active = service.activate(tenant, info.name, info.version)
    create_table(engine, tenant,
                 "CREATE TABLE secret_payroll (employee_ref text PRIMARY KEY, salary_eur numeric(12,2))")
    return Ready(tenant=tenant, sdk=active)


SETTINGS = AssistantSettings(api_key_env="ERP_TEST_NO_SUCH_KEY", max_tool_rounds=8, max_repairs=2,
                             token_budget=200_000, dry_run_rows=10)


@pytest.fixture
def make_assistant(engine: Engine, service: SdkService) -> Callable[..., Assistant]:
    """An assistant on the session database; ``model`` None means the offline path."""

    def make(model: Model | None = None, **settings: object) -> Assistant:
        return Assistant(engine, service, settings=SETTINGS.model_copy(update=settings), model=model)

    return make


def create_table(engine: Engine, tenant: str, ddl: str) -> None:
    """Create a table in the tenant's own schema (as the platform would, owned by the tenant's role)."""
    with engine.begin() as conn:
        conn.execute(text(f'SET LOCAL search_path TO "tenant_{tenant}"'))
        conn.execute(text(ddl))
