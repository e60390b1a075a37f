"""Fixtures of the sandbox tests: real componentize-py builds (cached by hash), real wasmtime, real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from erp_platform.sandbox import (
    EgressPolicy,
    HostServices,
    InMemoryRequestRecorder,
    LoadedComponent,
    NativeComponent,
    SandboxLimits,
    SandboxRuntime,
    SdkManifest,
    SdkSession,
    compile_component,
)
from erp_platform.sandbox._manifest import AuthConfig, HeaderSource
from tests.sandbox.erp_server import ErpServer

HERE = Path(__file__).parent
REPO = HERE.parent.parent
CONNECTOR_SOURCES = {"erp_connector.py": (HERE / "guests" / "erp_connector.py").read_text()}
HOSTILE_SOURCES = {"hostile_guest.py": (HERE / "hostile" / "hostile_guest.py").read_text()}

#: test host names, resolved by the injected resolver (the system resolver knows none of them)
ERP_HOST = "erp.test"
OTHER_HOST = "other.test"
REBIND_HOST = "rebind.test"  # an allowed domain whose DNS answer is a private address


@pytest.fixture(scope="session")
def wasm_cache() -> Path:
    """Components and precompiled machine code, kept between sessions (keyed by content hash)."""
    path = Path(os.environ.get("ERP_TEST_WASM_CACHE", REPO / ".erp" / "cache" / "wasm"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def runtime(wasm_cache: Path) -> Iterator[SandboxRuntime]:
    with SandboxRuntime(cache_dir=wasm_cache) as rt:
        yield rt


@pytest.fixture(scope="session")
def connector_wasm(wasm_cache: Path) -> Path:
    return compile_component(CONNECTOR_SOURCES, entry="erp_connector", cache_dir=wasm_cache)


@pytest.fixture(scope="session")
def connector(runtime: SandboxRuntime, connector_wasm: Path) -> LoadedComponent:
    return runtime.load_component(connector_wasm)


@pytest.fixture(scope="session")
def native_connector() -> NativeComponent:
    return NativeComponent(CONNECTOR_SOURCES, entry="erp_connector")


@pytest.fixture(scope="session")
def hostile(runtime: SandboxRuntime, wasm_cache: Path) -> LoadedComponent:
    wasm = compile_component(HOSTILE_SOURCES, entry="hostile_guest", cache_dir=wasm_cache)
    return runtime.load_component(wasm)


@pytest.fixture(scope="session")
def erp_session_server() -> Iterator[ErpServer]:
    with ErpServer(rows=25) as server:
        yield server


@pytest.fixture(scope="session")
def other_session_server() -> Iterator[ErpServer]:
    with ErpServer(rows=3) as server:
        yield server


@pytest.fixture
def erp(erp_session_server: ErpServer) -> ErpServer:
    erp_session_server.reset()
    return erp_session_server


@pytest.fixture
def other(other_session_server: ErpServer) -> ErpServer:
    other_session_server.reset()
    return other_session_server


def resolver(host: str, port: int) -> list[str]:
    """The test DNS: the ERP names point at 127.0.0.1, rebind.test at a private address."""
    table = {ERP_HOST: ["127.0.0.1"], OTHER_HOST: ["127.0.0.1"], REBIND_HOST: ["10.0.0.5"]}
    if host not in table:
        raise OSError(f"test resolver does not know {host!r}")
    return table[host]


SECRETS = {"token": "tok-SECRET-acme-1234", "api_key": "key-SECRET-acme-5678", "erp_tenant": "ACME-GMBH"}


@dataclass
class Harness:
    """Builds manifests and sessions against the test servers, with recorded sleeps and requests."""

    erp: ErpServer
    other: ErpServer
    recorder: InMemoryRequestRecorder = field(default_factory=InMemoryRequestRecorder)
    sleeps: list[float] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=lambda: dict(SECRETS))

    def manifest(
        self,
        *,
        sdk_name: str = "test-erp",
        allowed: Sequence[str] = (ERP_HOST,),
        auth: AuthConfig | None = None,
        headers: Sequence[HeaderSource] = (),
        tenant: str = "acme",
        **limits: float,
    ) -> SdkManifest:
        return SdkManifest(
            tenant=tenant,
            sdk_name=sdk_name,
            sdk_version=3,
            base_url=f"http://{ERP_HOST}:{self.erp.port}",
            allowed_domains=tuple(allowed),
            auth=auth or AuthConfig(),
            required_headers=tuple(headers),
            limits=SandboxLimits(**limits),  # type: ignore[arg-type]
        )

    def services(self, **overrides: object) -> HostServices:
        values: dict[str, object] = {
            "secrets": self.secrets.__getitem__,
            "egress_policy": EgressPolicy(
                private_allowlist=(f"{ERP_HOST}:{self.erp.port}", f"{OTHER_HOST}:{self.other.port}")
            ),
            "recorder": self.recorder,
            "resolver": resolver,
            "sleep": self.sleeps.append,
        }
        values.update(overrides)
        return HostServices(**values)  # type: ignore[arg-type]

    def session(
        self,
        component: LoadedComponent | NativeComponent,
        manifest: SdkManifest | None = None,
        services: HostServices | None = None,
    ) -> SdkSession:
        return SdkSession(manifest or self.manifest(), component, services or self.services())


@pytest.fixture
def harness(erp: ErpServer, other: ErpServer) -> Harness:
    return Harness(erp=erp, other=other)

