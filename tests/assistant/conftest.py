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
from tests.sdks.conftest import (  # noqa: F401  (fixtures shared with the SDK tests)
    ERP_AUTH,
    connect_tenant,
    credentials,
    erp_mock,
    mock_erp,
    mock_sdk_factory,
    mock_spec,
    new_tenant,
    objects,
    runtime,
    service,
    wasm_cache,
)


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
        active = service.activate(info.tenant, info.name, info.version)
        connect_tenant(tenants, credentials, mock_erp, info.tenant)
        return Ready(tenant=info.tenant, sdk=active)

    return make


@pytest.fixture(scope="session")
def tenant_a(ready_tenant: Callable[[str], Ready]) -> Ready:
    return ready_tenant("alpha")


@pytest.fixture(scope="session")
def tenant_b(ready_tenant: Callable[[str], Ready]) -> Ready:
    return ready_tenant("bravo")


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
