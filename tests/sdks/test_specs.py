"""Builds from the real specs in shared/specs and from the mock ERP's spec, through SdkService.build.

Each distinct SDK compiles once per session (components are cached by content hash under .erp/cache/wasm,
so reruns are fast); the sandbox tests exercise generated requests through the real component against
sample responses (real specs) or the in-process mock ERP (the mock's spec).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from erp_platform.objectstore import LocalObjectStore, tenant_key, tenant_prefix
from erp_platform.registry import AuditEntry, SdkVersion, Tenant
from erp_platform.sandbox import SdkManifest
from erp_platform.sdks import ENGINE_KEY, MAX_TESTED_OPERATIONS, SdkService, SdkVersionInfo
from sdk_builder import BUILDER_VERSION, SdkSpec, generate, load_spec, parse_overrides
from tests.sdks.conftest import SPECS

SAP_V2_ROOT = "https://sap.example.com/sap/opu/odata/sap/API_TEST_SRV/"

REAL = {
    "business_central": ("dynamics365_business_central_v1.openapi.yaml", {}),
    "quickbooks": ("quickbooks_online_v3.openapi.yaml", {"name": "quickbooks"}),  # the default overridden
    "sap_v2": ("odata/sap_cloud_sdk_API_TEST_SRV.v2.edmx", {"base_url": SAP_V2_ROOT}),
}


@pytest.fixture(scope="module")
def spec_tenant(new_tenant: Callable[..., str]) -> str:
    return new_tenant("specs")


@pytest.fixture(scope="module")
def real_builds(service: SdkService, spec_tenant: str) -> dict[str, SdkVersionInfo]:
    """Business Central, QuickBooks and the SAP OData V2 EDMX, each built (and compiled) once."""
    return {key: service.build(spec_tenant, SPECS / file, **options)  # type: ignore[arg-type]
            for key, (file, options) in REAL.items()}


def _row(engine: Engine, info: SdkVersionInfo) -> Any:
    with Session(engine) as session:
        return session.scalars(
            select(SdkVersion).join(Tenant, Tenant.id == SdkVersion.tenant_id)
            .where(Tenant.slug == info.tenant, SdkVersion.name == info.name)
            .where(SdkVersion.version == info.version)
        ).one()


@pytest.mark.parametrize(
    ("key", "name", "operations", "skipped", "tested", "not_tested"),
    [
        ("business_central", "dynamics_365_business_central", 324, 0, MAX_TESTED_OPERATIONS, 112),
        ("quickbooks", "quickbooks", 15, 0, 8, 0),
        ("sap_v2", "api_test_srv", 91, 3, MAX_TESTED_OPERATIONS, 7),
    ],
)
def test_real_specs_build_test_and_register(
    real_builds: dict[str, SdkVersionInfo], key: str, name: str, operations: int, skipped: int,
    tested: int, not_tested: int,
) -> None:
    info = real_builds[key]
    assert (info.name, info.version, info.status) == (name, 1, "TESTING")
    assert info.operation_count == operations
    assert len(info.skipped_operations) == skipped
    report = info.test_results
    assert report is not None
    assert report.target == "sample_responses"
    assert report.passed and report.describe_ok
    assert (len(report.tested), len(report.not_tested)) == (tested, not_tested)
    assert all(result.passed for result in report.results)
    assert info.builder_version == BUILDER_VERSION


def test_skipped_operations_keep_their_reasons(real_builds: dict[str, SdkVersionInfo]) -> None:
    skipped = {s.operation_id: s.reason for s in real_builds["sap_v2"].skipped_operations}
    assert skipped == {
        "list_a_test_entity_circular_link_parent_to_child":
            "navigation property to_Child has no resolvable target type",
        "list_a_test_entity_circular_link_child_to_parent":
            "navigation property to_Parent has no resolvable target type",
        "test_function_import_unsupported_edm_types":
            "parameter SimpleParam has type Edm.SomethingTheSDKDoesNotSupport, which has no URL literal form",
    }


def test_sample_tests_check_envelope_normalisation_and_paging(real_builds: dict[str, SdkVersionInfo]) -> None:
    report = real_builds["sap_v2"].test_results
    assert report is not None
    first = next(r for r in report.results if r.kind == "collection")
    assert first.pages == 2 and first.records == 3
    assert first.checks == (
        "page 1 (host-parsed): HTTP status 200",
        "page 1 (host-parsed): entity 'A_TestEntityType'",
        "page 1: 2 records",
        "page 1: records normalised as expected",
        "page 1: continuation token",
        "page 2 (guest-parsed): HTTP status 200",
        "page 2 (guest-parsed): entity 'A_TestEntityType'",
        "page 2: 1 record",
        "page 2: records normalised as expected",
        "page 2: last page",
    )
    single = next(r for r in real_builds["quickbooks"].test_results.results)  # type: ignore[union-attr]
    assert single.kind == "single" and single.passed and single.records == 1


def test_the_registry_row_holds_hashes_spec_manifest_scan_and_tests(
    real_builds: dict[str, SdkVersionInfo], engine: Engine, spec_tenant: str
) -> None:
    info = real_builds["business_central"]
    row = _row(engine, info)
    parsed = load_spec(SPECS / REAL["business_central"][0], name=info.name)
    assert row.spec_hash == parsed.spec.spec_hash
    assert SdkSpec.model_validate(row.sdk_spec) == parsed.spec
    assert row.sdk_spec == parsed.spec.model_dump(mode="json")
    assert row.code_hash == generate(parsed.spec).code_hash
    manifest = SdkManifest.model_validate(row.manifest)
    assert (manifest.tenant, manifest.sdk_name, manifest.sdk_version) == (spec_tenant, info.name, 1)
    assert manifest.base_url == "https://api.businesscentral.dynamics.com/v2.0/production/api/v1.0/"
    assert row.allowed_domains == ["api.businesscentral.dynamics.com"]
    assert row.capabilities == list(parsed.spec.capabilities)
    assert row.security_scan["passed"] is True
    assert row.security_scan["guest"]["files"] == ["_erp_runtime.py", "guest.py"]
    assert row.test_results["passed"] is True
    assert len(row.test_results["results"]) == MAX_TESTED_OPERATIONS


def test_artifacts_are_stored_under_the_tenant_prefix_and_match_their_hashes(
    real_builds: dict[str, SdkVersionInfo], objects: LocalObjectStore, engine: Engine, spec_tenant: str
) -> None:
    info = real_builds["quickbooks"]
    folder = f"tenants/{spec_tenant}/sdks/{info.name}/v1/"
    refs = info.artifacts
    assert refs.spec == folder + "spec/quickbooks_online_v3.openapi.yaml"
    assert refs.code == folder + "code"
    assert refs.facade == folder + "facade.py"
    assert refs.wasm == folder + "component.wasm"
    assert refs.precompiled is not None and refs.precompiled.startswith(folder + f"precompiled/{ENGINE_KEY}/")

    def read(path: str) -> bytes:
        return objects.get_bytes(tenant_key(spec_tenant, path.removeprefix(f"tenants/{spec_tenant}/")))

    assert read(refs.spec) == (SPECS / REAL["quickbooks"][0]).read_bytes()
    generated = generate(load_spec(SPECS / REAL["quickbooks"][0], name=info.name).spec)
    for filename, source in generated.files.items():
        assert read(f"{refs.code}/{filename}").decode() == source
    assert read(refs.facade).decode() == generated.facade
    assert hashlib.sha256(read(refs.wasm)).hexdigest() == info.wasm_hash
    precompiled = read(refs.precompiled)
    assert refs.precompiled.endswith(f"/{hashlib.sha256(precompiled).hexdigest()}.cwasm")
    stored = {key.path for key in objects.list(tenant_prefix(spec_tenant))}
    assert all(path.startswith(f"tenants/{spec_tenant}/sdks/") for path in stored)
    assert {refs.spec, refs.facade, refs.wasm, refs.precompiled} <= stored


def test_builds_are_audited(real_builds: dict[str, SdkVersionInfo], engine: Engine, spec_tenant: str) -> None:
    with Session(engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_slug == spec_tenant, AuditEntry.action == "sdk.build")
            .order_by(AuditEntry.id)
        ).all()
    assert [e.target_id for e in entries] == [f"{info.name}@1" for info in real_builds.values()]
    details = entries[0].details
    assert details["status"] == "TESTING" and details["operation_count"] == 324
    assert details["wasm_hash"] == real_builds["business_central"].wasm_hash
    assert details["tests"] == real_builds["business_central"].test_summary()


def test_the_mock_spec_is_tested_against_the_mock_erp(
    mock_sdk_factory: Callable[..., SdkVersionInfo],
) -> None:
    info = mock_sdk_factory("mockspec")
    assert (info.name, info.version, info.status) == ("mock_erp", 1, "TESTING")
    assert info.title == "Mock ERP"
    report = info.test_results
    assert report is not None and report.target == "mock_erp" and report.passed
    assert len(report.tested) == 20 and report.not_tested == ()
    by_name = {r.operation: r for r in report.results}
    assert by_name["odata_v2_list_customers"].pages == 2
    assert by_name["odata_v2_list_customers"].records == 8
    assert by_name["get_invoice"].kind == "single"
    assert info.test_summary() == "20/20 operations passed against the mock ERP"


def test_an_identical_rebuild_returns_the_existing_version_and_a_changed_option_the_next(
    service: SdkService, mock_spec: bytes, new_tenant: Callable[..., str], engine: Engine
) -> None:
    tenant = new_tenant("again")
    first = service.build(tenant, mock_spec, filename="openapi.json")
    same = service.build(tenant, mock_spec, filename="openapi.json")
    assert (same.version, same.unchanged, first.unchanged) == (1, True, False)
    assert (same.spec_hash, same.code_hash, same.wasm_hash) == (first.spec_hash, first.code_hash, first.wasm_hash)
    changed = service.build(tenant, mock_spec, filename="openapi.json",
                            overrides=parse_overrides(None, ["list_customers.primary_key=number"]))
    assert (changed.version, changed.unchanged) == (2, False) and changed.spec_hash != first.spec_hash
    assert changed.overrides == ("list_customers.primary_key=number",)
    assert first.artifacts.wasm != changed.artifacts.wasm  # each version has its own immutable copy
    assert [(i.name, i.version) for i in service.list(tenant)] == [("mock_erp", 1), ("mock_erp", 2)]
    with engine.connect() as conn:
        builds = conn.execute(text(
            "SELECT count(*) FROM erp_control.audit_log WHERE tenant_slug = :t AND action = 'sdk.build'"
        ), {"t": tenant}).scalar()
    assert builds == 2  # the unchanged rebuild registered and audited nothing
    service.revoke(tenant, "mock_erp", 1)
    again = service.build(tenant, mock_spec, filename="openapi.json")
    assert (again.version, again.unchanged) == (3, False)  # a REVOKED version is never reused
    other = new_tenant("again_b")  # the same spec in another tenant is never "unchanged" from this one's
    theirs = service.build(other, mock_spec, filename="openapi.json")
    assert (theirs.tenant, theirs.version, theirs.unchanged) == (other, 1, False)
    assert theirs.artifacts.wasm == f"tenants/{other}/sdks/mock_erp/v1/component.wasm"
