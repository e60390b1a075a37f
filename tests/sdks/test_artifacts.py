"""Stored artifacts are checked against the registry's hashes before anything is loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from erp_platform._errors import ArtifactIntegrityError, TenantIsolationError
from erp_platform.credentials import CredentialStore
from erp_platform.objectstore import LocalObjectStore, ObjectKey, tenant_key
from erp_platform.registry import SdkVersion, Tenant
from erp_platform.sandbox import SandboxRuntime
from erp_platform.sdks import SdkService, SdkVersionInfo
from tests.sdks.conftest import store_mock_credentials


@pytest.fixture
def fresh_service(
    engine: Engine, objects: LocalObjectStore, credentials: CredentialStore, runtime: SandboxRuntime,
    tmp_path: Path,
) -> Callable[..., SdkService]:
    """A new service, as a new worker process would start: by default with an empty artifact cache."""
    counter = iter(range(100))

    def make(cache_dir: Path | None = None) -> SdkService:
        folder = cache_dir or tmp_path / f"cache{next(counter)}"
        return SdkService(engine, objects, credentials, cache_dir=folder, runtime=runtime)

    return make


@pytest.fixture
def active(service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo],
           credentials: CredentialStore) -> SdkVersionInfo:
    info = mock_sdk_factory("tamper")
    store_mock_credentials(credentials, info.tenant)
    return service.activate(info.tenant, info.name, info.version)


def _key(info: SdkVersionInfo, path: str) -> ObjectKey:
    return tenant_key(info.tenant, path.removeprefix(f"tenants/{info.tenant}/"))


def _set_row(engine: Engine, info: SdkVersionInfo, **values: object) -> None:
    with engine.begin() as conn:
        tenant_id = conn.execute(Tenant.__table__.select().where(Tenant.slug == info.tenant)).one().id
        conn.execute(update(SdkVersion).where(SdkVersion.tenant_id == tenant_id, SdkVersion.name == info.name,
                                              SdkVersion.version == info.version).values(**values))


def test_a_changed_precompiled_module_is_refused(
    active: SdkVersionInfo, objects: LocalObjectStore, fresh_service: Callable[..., SdkService]
) -> None:
    assert active.artifacts.precompiled is not None
    key = _key(active, active.artifacts.precompiled)
    original = objects.get_bytes(key)
    expected = hashlib.sha256(original).hexdigest()
    assert key.path.endswith(f"/{expected}.cwasm")
    verified = fresh_service()
    with verified.open_session(active.tenant, "mock_erp") as session:
        assert session.describe()["name"] == "mock_erp"

    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    objects.put_bytes(key, bytes(tampered))
    actual = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(ArtifactIntegrityError) as caught:
        fresh_service().open_session(active.tenant, "mock_erp")
    assert str(caught.value) == (
        f"SDK 'mock_erp' v1 of tenant {active.tenant!r}: the stored precompiled module {key.path} has sha256 "
        f"{actual}, but the registry recorded {expected}: it was changed after the build. It will not be "
        f"loaded; revoke this version (`erp sdk revoke {active.tenant} mock_erp 1`) and build the SDK again"
    )
    # A worker that verified the module before keeps running the bytes it checked.
    with verified.open_session(active.tenant, "mock_erp") as session:
        assert session.describe()["name"] == "mock_erp"


def test_a_damaged_local_copy_is_fetched_again(
    active: SdkVersionInfo, fresh_service: Callable[..., SdkService], tmp_path: Path
) -> None:
    with fresh_service(tmp_path / "local").open_session(active.tenant, "mock_erp"):
        pass
    [cached] = (tmp_path / "local" / "artifacts").iterdir()
    cached.write_bytes(b"not machine code")
    with fresh_service(tmp_path / "local").open_session(active.tenant, "mock_erp") as session:
        assert session.describe()["name"] == "mock_erp"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == cached.name.removesuffix(".cwasm")


def test_another_engine_falls_back_to_the_verified_component(
    active: SdkVersionInfo, objects: LocalObjectStore, engine: Engine,
    fresh_service: Callable[..., SdkService],
) -> None:
    assert active.artifacts.precompiled is not None and active.artifacts.wasm is not None
    other_engine = active.artifacts.precompiled.replace("/precompiled/wasmtime-", "/precompiled/oldtime-")
    _set_row(engine, active, precompiled_ref=other_engine)
    with fresh_service().open_session(active.tenant, "mock_erp") as session:
        assert session.describe()["name"] == "mock_erp"
    key = _key(active, active.artifacts.wasm)
    objects.put_bytes(key, objects.get_bytes(key) + b"\0")
    with pytest.raises(ArtifactIntegrityError) as caught:
        fresh_service().open_session(active.tenant, "mock_erp")
    assert str(caught.value).startswith(
        f"SDK 'mock_erp' v1 of tenant {active.tenant!r}: the stored component {key.path} has sha256 "
    )
    recorded = f"but the registry recorded {active.wasm_hash}: it was changed after the build"
    assert recorded in str(caught.value)


def test_a_reference_outside_the_versions_folder_is_refused(
    active: SdkVersionInfo, service: SdkService, mock_sdk_factory: Callable[..., SdkVersionInfo],
    engine: Engine, fresh_service: Callable[..., SdkService], credentials: CredentialStore,
) -> None:
    victim = mock_sdk_factory("victim")
    store_mock_credentials(credentials, victim.tenant)
    other = service.activate(*_name(victim))
    assert other.artifacts.precompiled is not None
    _set_row(engine, active, precompiled_ref=other.artifacts.precompiled)
    with pytest.raises(TenantIsolationError) as caught:
        fresh_service().open_session(active.tenant, "mock_erp")
    assert str(caught.value) == (
        f"SDK 'mock_erp' v1 of tenant {active.tenant!r}: artifact reference "
        f"{other.artifacts.precompiled!r} lies "
        f"outside the version's folder tenants/{active.tenant}/sdks/mock_erp/v1/; the registry row was "
        "changed "
        "outside the platform. Revoke the version and build the SDK again"
    )


def _name(info: SdkVersionInfo) -> tuple[str, str, int]:
    return info.tenant, info.name, info.version
