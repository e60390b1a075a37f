"""Storage quotas and pruning through the CLI: a tenant over ``max_storage_gb`` cannot store artifacts,
``erp tenant show`` reports usage, and ``erp sdk prune`` frees only the tenant's own unusable versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from erp_platform.credentials import CredentialStore
from erp_platform.sdks import SdkService
from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory
from tests.sdks.conftest import store_mock_credentials
from tests.support.cli import ErpCli


def stored_files(home: Path, tenant: str, *parts: str) -> list[Path]:
    root = home / "objects" / "tenants" / tenant
    return sorted(p for p in root.joinpath(*parts).rglob("*") if p.is_file()) if root.exists() else []


def stored_bytes(home: Path, tenant: str, *parts: str) -> int:
    return sum(p.stat().st_size for p in stored_files(home, tenant, *parts))


@pytest.fixture(scope="module")
def spec_file(mock_spec: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "mock_erp.openapi.json"
    path.write_bytes(mock_spec)
    return path


def build(cli: ErpCli, tenant: str, spec: Path) -> dict[str, object]:
    result = cli("sdk", "build", tenant, "--spec", str(spec), "--json", timeout=600)
    assert result.code == 0, result.stderr
    info: dict[str, object] = result.json()
    return info


def variant(spec: Path, n: int) -> Path:
    """The same spec with ``n`` trailing newlines: a new spec hash, so a new version."""
    path = spec.with_name(f"v{n}.{spec.name}")
    path.write_bytes(spec.read_bytes() + b"\n" * n)
    return path


def test_a_tenant_over_its_quota_stores_nothing_and_others_build_on(
    cli: ErpCli, erp_home: Path, new_tenant: Callable[..., str], spec_file: Path
) -> None:
    full, other = new_tenant("sq_full"), new_tenant("sq_other")
    assert cli("tenant", "set-quota", full, "--max-storage-gb", "0").code == 0

    refused = cli("sdk", "build", full, "--spec", str(spec_file), timeout=600)
    assert refused.code == 2
    message = refused.stderr.strip()
    assert re.fullmatch(
        rf"error: tenant '{full}' is over its storage quota: writing the artifacts of SDK 'mock_erp' v1 of "
        rf"tenant '{full}' \(\d+\.\d MB\) would bring its objects to \d+\.\d MB, past its limit of 0 B "
        rf"\(max_storage_gb\); it stores 0 B now\. Delete what it no longer needs: the artifacts of old SDK "
        rf"versions with `erp sdk prune {full} SDK --keep N` \(revoke unused versions first with `erp sdk "
        rf"revoke {full} SDK VERSION`\), or raise the limit with `erp tenant set-quota {full} "
        r"--max-storage-gb N`",
        message,
    ), message
    assert stored_files(erp_home, full) == []  # refused before the first write
    listed = cli("sdk", "list", full, "--json")
    assert listed.code == 0 and listed.json() == []  # and nothing registered

    shown = cli("tenant", "show", full, "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["storage"] == {"used_bytes": 0, "limit_bytes": 0}

    info = build(cli, other, spec_file)  # tenant B is not blocked by A's full quota
    assert info["status"] == "TESTING"
    used = stored_bytes(erp_home, other)
    assert used > 1_000_000
    shown = cli("tenant", "show", other, "--json")
    assert shown.json()["storage"] == {"used_bytes": used, "limit_bytes": 50 * 1024**3}
    human = cli("tenant", "show", other)
    assert human.code == 0, human.stderr
    assert re.search(r"storage used\s+│\s+\d+\.\d MB of 50 GB \(0\.\d%\)", human.stdout), human.stdout


def test_prune_deletes_only_unusable_versions_of_the_tenants_own_sdk(
    cli: ErpCli, erp_home: Path, engine: Engine, new_tenant: Callable[..., str], spec_file: Path
) -> None:
    owner, neighbour = new_tenant("sq_prune"), new_tenant("sq_neigh")
    for n in (1, 2, 3):
        assert build(cli, owner, variant(spec_file, n))["version"] == n
    build(cli, neighbour, variant(spec_file, 1))
    assert cli("sdk", "revoke", neighbour, "mock_erp", "1").code == 0
    for name, secret in (("token", "tok-acme"), ("x_erp_tenant", "acme")):  # activation needs the SDK's credentials
        assert cli("credentials", "set", owner, name, "--sdk", "mock_erp", input=secret).code == 0
    assert cli("sdk", "activate", owner, "mock_erp", "3").code == 0
    for version in ("1", "2"):
        assert cli("sdk", "revoke", owner, "mock_erp", version).code == 0
    neighbour_files = stored_files(erp_home, neighbour)
    before = stored_bytes(erp_home, owner)

    kept_two = cli("sdk", "prune", owner, "mock_erp", "--keep", "2")
    assert kept_two.code == 0, kept_two.stderr
    lines = kept_two.stdout.splitlines()
    assert re.fullmatch(r"pruned v1 \(REVOKED\): \d+ objects deleted", lines[0]), lines
    assert lines[1:3] == ["kept v3 (ACTIVE): ACTIVE versions are never pruned",
                          "kept v2 (REVOKED): among the newest 2"]
    assert stored_files(erp_home, owner, "sdks", "mock_erp", "v1") == []
    assert stored_files(erp_home, owner, "sdks", "mock_erp", "v2")
    freed = before - stored_bytes(erp_home, owner)
    assert freed > 0
    assert re.fullmatch(rf"1 version\(s\) pruned, \S+ [KM]?B freed; tenant {owner} stores .+ of 50 GB \(.+\)",
                        lines[3]), lines

    shown = cli("sdk", "show", owner, "mock_erp", "--version", "1", "--json")
    assert shown.code == 0, shown.stderr
    assert set(shown.json()["artifacts"].values()) == {None}
    assert cli("sdk", "activate", owner, "mock_erp", "1").code == 2  # REVOKED stays final

    everything = cli("sdk", "prune", owner, "mock_erp", "--keep", "0", "--json")
    assert everything.code == 0, everything.stderr
    report = everything.json()
    assert [p["version"] for p in report["pruned"]] == [2]
    assert {k["version"]: k["reason"] for k in report["kept"]} == {
        3: "ACTIVE versions are never pruned", 1: "artifacts already deleted"}
    assert stored_files(erp_home, owner, "sdks", "mock_erp", "v3")  # the ACTIVE version still runs

    # the neighbour's REVOKED version is its own: the owner's prunes never touched it
    assert stored_files(erp_home, neighbour) == neighbour_files
    with engine.connect() as conn:
        audited = conn.execute(text(
            "SELECT target_id, tenant_slug FROM erp_control.audit_log WHERE action = 'sdk.prune' "
            "AND tenant_slug IN (:a, :b) ORDER BY id"), {"a": owner, "b": neighbour}).all()
    assert [tuple(r) for r in audited] == [("mock_erp@1", owner), ("mock_erp@2", owner)]


@pytest.mark.parametrize(("args", "expected"), [
    (["--keep", "-1"], "error: --keep must be a whole number of versions, 0 or more (received -1)"),
    (["--keep", "1"], None),  # the tenant has no such SDK
])
def test_prune_refuses_bad_input_and_unknown_sdks(
    cli: ErpCli, new_tenant: Callable[..., str], args: list[str], expected: str | None
) -> None:
    tenant = new_tenant("sq_bad")
    result = cli("sdk", "prune", tenant, "mock_erp", *args)
    assert result.code == 2, result.stdout
    if expected is not None:
        assert result.stderr.strip() == expected
    else:
        assert result.stderr.startswith(f"error: SDK 'mock_erp' of tenant {tenant!r} does not exist"), result.stderr


PINNING_WORKFLOW = """
id: pinned_sync
activities:
  - id: customers
    type: extract
    config:
      sdk: mock_erp
      operation: list_customers
compatibility:
  required_sdk_version: 1
"""


def test_prune_keeps_a_version_a_workflow_pins(
    engine: Engine, service: SdkService, credentials: CredentialStore, mock_spec: bytes,
    new_tenant: Callable[..., str],
) -> None:
    tenant = new_tenant("sq_pin")
    store_mock_credentials(credentials, tenant)
    first = service.build(tenant, mock_spec, filename="openapi.json")
    service.activate(tenant, first.name, first.version)
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    record, _ = registry.apply(tenant, PINNING_WORKFLOW, "pinned.yaml")
    second = service.build(tenant, mock_spec + b"\n", filename="openapi.json")
    service.activate(tenant, second.name, second.version)
    service.revoke(tenant, first.name, first.version)

    report = service.prune(tenant, "mock_erp", keep=0)
    assert report.pruned == ()
    assert {k.version: k.reason for k in report.kept} == {
        2: "ACTIVE versions are never pruned", 1: f"pinned by workflow pinned_sync v{record.version}"}
    assert service.get(tenant, "mock_erp", 1).artifacts.wasm is not None
