"""Fixtures of the SDK pipeline tests: real componentize-py builds (cached by content hash), real wasmtime,
the real mock ERP, the session database, a local object store and the encrypted credential store."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from erp_platform.credentials import CredentialStore, LocalEncryptedStore
from erp_platform.mock_erp import MockErpConfig, MockErpServer, TenantAuth
from erp_platform.objectstore import LocalObjectStore
from erp_platform.sandbox import SandboxRuntime
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from tests.support.cli import ErpCli
from tests.support.prism import prism_pool  # noqa: F401  (session fixture: Prism servers of the corpus)
from tests.support.specs import SHARED_SPECS

REPO = Path(__file__).resolve().parents[2]
SPECS = SHARED_SPECS
MOCK_ROWS = 60


@pytest.fixture(scope="session")
def wasm_cache() -> Path:
    """Components, precompiled code, generated code and artifacts, kept between sessions (by hash)."""
    path = Path(os.environ.get("ERP_TEST_WASM_CACHE", REPO / ".erp" / "cache" / "wasm"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def runtime(wasm_cache: Path) -> Iterator[SandboxRuntime]:
    with SandboxRuntime(cache_dir=wasm_cache) as rt:
        yield rt


@pytest.fixture(scope="session")
def objects(tmp_path_factory: pytest.TempPathFactory) -> LocalObjectStore:
    return LocalObjectStore(tmp_path_factory.mktemp("sdk_objects"))


@pytest.fixture(scope="session")
def credentials(engine: Engine) -> CredentialStore:
    key = SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return LocalEncryptedStore(engine, master_key=key)


@pytest.fixture(scope="session")
def service(
    engine: Engine, objects: LocalObjectStore, credentials: CredentialStore, wasm_cache: Path,
    runtime: SandboxRuntime,
) -> SdkService:
    return SdkService(engine, objects, credentials, cache_dir=wasm_cache, runtime=runtime)


@pytest.fixture(scope="session")
def new_tenant(tenants: TenantService) -> Callable[..., str]:
    """Create a fresh tenant (unique slug) in the session database and return its slug."""

    def make(prefix: str = "sdk") -> str:
        slug = f"{prefix}_{secrets.token_hex(4)}"
        tenants.create(slug, "standard")
        return slug

    return make


#: Credentials of the session's mock ERP: unique values, so tests can look for them in stored rows.
ERP_AUTH = {
    "acme": TenantAuth(token=f"tok-acme-{secrets.token_hex(8)}", api_key=f"key-acme-{secrets.token_hex(8)}"),
    "globex": TenantAuth(token=f"tok-globex-{secrets.token_hex(8)}", api_key=f"key-g-{secrets.token_hex(8)}"),
}


@pytest.fixture(scope="session")
def mock_erp() -> Iterator[MockErpServer]:
    """The mock ERP the tenants' SDKs talk to (ERP tenants acme and globex)."""
    with MockErpServer(MockErpConfig(tenants=ERP_AUTH, rows=MOCK_ROWS, seed=3)) as server:
        yield server


@pytest.fixture
def erp_mock(mock_erp: MockErpServer) -> Iterator[MockErpServer]:
    """The session's mock ERP, with no fault armed before or after the test."""
    mock_erp.clear_faults()
    yield mock_erp
    mock_erp.clear_faults()


@pytest.fixture(scope="session")
def mock_spec(mock_erp: MockErpServer) -> bytes:
    """The mock ERP's OpenAPI document as it serves it (servers: its own base URL)."""
    response = httpx.get(f"{mock_erp.base_url}/openapi.json", timeout=10)
    response.raise_for_status()
    return response.content


@pytest.fixture(scope="session")
def mock_sdk_factory(
    service: SdkService, mock_spec: bytes, new_tenant: Callable[..., str]
) -> Callable[..., SdkVersionInfo]:
    """Build the mock ERP's SDK for a new tenant (compiled once per session; later builds hit the caches)."""

    def make(prefix: str = "mock") -> SdkVersionInfo:
        tenant = new_tenant(prefix)
        return service.build(tenant, mock_spec, filename="openapi.json")

    return make


@dataclass(frozen=True)
class ReadySdk:
    """A tenant with an ACTIVE mock ERP SDK, its credentials stored and the mock's address allowed."""

    tenant: str
    info: SdkVersionInfo
    erp_tenant: str = "acme"


def store_mock_credentials(
    credentials: CredentialStore, tenant: str, *, erp_tenant: str = "acme", sdk: str = "mock_erp"
) -> None:
    """The mock ERP's credentials (token, x_erp_tenant) of company ``erp_tenant``, bound to SDK ``sdk``."""
    credentials.set(tenant, "token", ERP_AUTH[erp_tenant].token, sdk=sdk)
    credentials.set(tenant, "x_erp_tenant", erp_tenant, sdk=sdk)


def connect_tenant(
    tenants: TenantService, credentials: CredentialStore, erp_mock: MockErpServer, tenant: str,
    *, egress: bool = True, erp_tenant: str = "acme", sdk: str = "mock_erp",
) -> None:
    """Store the ERP credentials (token, x_erp_tenant) for SDK ``sdk`` and, with ``egress``, allow the mock's
    host:port."""
    store_mock_credentials(credentials, tenant, erp_tenant=erp_tenant, sdk=sdk)
    if egress:
        tenants.allow_private_egress(tenant, f"127.0.0.1:{erp_mock.port}")


@pytest.fixture(scope="session")
def ready_sdk(
    service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo], tenants: TenantService,
    credentials: CredentialStore, mock_erp: MockErpServer,
) -> ReadySdk:
    info = mock_sdk_factory("ready")
    assert info.status == "TESTING", info.test_summary()
    connect_tenant(tenants, credentials, mock_erp, info.tenant)
    active = service.activate(info.tenant, info.name, info.version)
    return ReadySdk(tenant=info.tenant, info=active)


@pytest.fixture(scope="session")
def cli(erp: ErpCli, erp_home: Path, wasm_cache: Path) -> ErpCli:
    """The CLI with its wasm cache pointing at the session's (components compile once per session)."""
    cache = erp_home / "cache" / "wasm"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.symlink_to(wasm_cache, target_is_directory=True)
    return erp
