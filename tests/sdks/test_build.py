"""``sdk_builder.build_sdk``: caches by (spec hash, builder version) and by code; default names; the scan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from erp_platform import ObjectStoreError
from erp_platform.objectstore import LocalObjectStore, tenant_prefix
from erp_platform.registry import AuditEntry
from erp_platform.sdks import SdkService
from erp_platform.sdks._artifacts import VersionRef
from sdk_builder import (
    BUILDER_VERSION,
    GeneratedSdk,
    ScanRefused,
    SdkSpec,
    build_sdk,
    generate,
    sdk_name_from_title,
)


def test_a_second_build_of_the_same_spec_is_served_from_the_caches(
    mock_spec: bytes, wasm_cache: Path
) -> None:
    first = build_sdk(mock_spec, cache_dir=wasm_cache, filename="openapi.json")
    second = build_sdk(mock_spec, cache_dir=wasm_cache, filename="openapi.json")
    assert second.generation_cached and second.compile_cached
    assert second.timings.parse_seconds == 0.0 and second.timings.generate_seconds == 0.0
    assert second.parsed == first.parsed and second.generated == first.generated
    assert second.wasm_path == first.wasm_path and second.wasm_hash == first.wasm_hash
    assert (wasm_cache / "builds" / BUILDER_VERSION / f"{_key(mock_spec)}.json").exists()


def _key(raw: bytes) -> str:
    from sdk_builder._loading import _options, spec_hash

    return spec_hash(raw, _options("openapi.json", None, None, None, None))


def test_a_damaged_cache_entry_is_rebuilt(mock_spec: bytes, tmp_path: Path, wasm_cache: Path) -> None:
    reference = build_sdk(mock_spec, cache_dir=wasm_cache, filename="openapi.json")
    cache = tmp_path / "cache"
    (cache / "components").mkdir(parents=True)
    (cache / "components" / reference.wasm_path.name).hardlink_to(reference.wasm_path)
    entry = cache / "builds" / BUILDER_VERSION / f"{_key(mock_spec)}.json"
    entry.parent.mkdir(parents=True)
    entry.write_text(
        (wasm_cache / "builds" / BUILDER_VERSION / entry.name).read_text().replace("DESCRIBE", "DESCRIBX", 1)
    )
    rebuilt = build_sdk(mock_spec, cache_dir=cache, filename="openapi.json")
    assert not rebuilt.generation_cached  # the code no longer matched its code hash
    assert rebuilt.compile_cached and rebuilt.generated == reference.generated


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("(v1.0) Dynamics 365 Business Central", "dynamics_365_business_central"),
        ("QuickBooks Online API", "quickbooks_online_api"),
        ("Mock ERP", "mock_erp"),
        ("API_TEST_SRV", "api_test_srv"),
        ("SalesOrderService", "sales_order_service"),
        ("Café Système", "cafe_systeme"),
        ("", "my_spec"),
        ("123 Shop", "my_spec"),
        ("x" * 80, "x" * 63),
    ],
)
def test_default_sdk_names_come_from_the_title(title: str, expected: str) -> None:
    assert sdk_name_from_title(title, "my-spec.v2.yaml") == expected


def _hostile_generator(spec: SdkSpec) -> GeneratedSdk:
    """Generated code with a forbidden import slipped in (what the scan is there to stop)."""
    sdk = generate(spec)
    files = dict(sdk.files)
    files["guest.py"] = "import os\n" + files["guest.py"]
    return sdk.model_copy(update={"files": files})


def test_code_failing_the_scan_is_refused_and_nothing_is_registered(
    engine: Engine, objects: LocalObjectStore, credentials: object, wasm_cache: Path, runtime: object,
    mock_spec: bytes, new_tenant: Callable[..., str],
) -> None:
    tenant = new_tenant("scan")
    hostile = SdkService(engine, objects, credentials, cache_dir=wasm_cache, runtime=runtime,  # type: ignore[arg-type]
                         generator=_hostile_generator)
    with pytest.raises(ScanRefused) as caught:
        hostile.build(tenant, mock_spec, filename="openapi.json")
    assert str(caught.value) == (
        "security scan (guest) refused the code: 1 finding\n"
        "  - guest.py line 1, col 0: [import-not-allowed] import of module 'os' is not allowed\n"
        "Remove these constructs; SDK code may only use the allow-listed standard modules."
    )
    assert hostile.list(tenant) == []
    assert objects.list(tenant_prefix(tenant)) == []
    with engine.connect() as conn:
        builds = conn.execute(
            select(func.count()).select_from(AuditEntry)
            .where(AuditEntry.tenant_slug == tenant, AuditEntry.action == "sdk.build")
        ).scalar()
    assert builds == 0


def test_a_build_failing_after_writing_artifacts_leaves_none_behind(
    engine: Engine, objects: LocalObjectStore, credentials: object, wasm_cache: Path, runtime: object,
    mock_spec: bytes, new_tenant: Callable[..., str],
) -> None:
    tenant, neighbour = new_tenant("halfmade"), new_tenant("halfnext")
    service = SdkService(engine, objects, credentials, cache_dir=wasm_cache, runtime=runtime)  # type: ignore[arg-type]
    service.build(neighbour, mock_spec, filename="openapi.json")
    neighbours_objects = objects.list(tenant_prefix(neighbour))
    # An object where the version's precompiled/ folder belongs: the store refuses the last write, after the
    # spec, code, facade and component were written.
    objects.put_bytes(VersionRef(tenant, "mock_erp", 1).key("precompiled"), b"in the way")
    with pytest.raises(ObjectStoreError, match="a parent of this key is an object itself"):
        service.build(tenant, mock_spec, filename="openapi.json")
    assert objects.list(tenant_prefix(tenant)) == []
    assert service.list(tenant) == []
    assert objects.list(tenant_prefix(neighbour)) == neighbours_objects  # the same SDK and version of another tenant
    built = service.build(tenant, mock_spec, filename="openapi.json")
    assert (built.version, built.status) == (1, "TESTING")
