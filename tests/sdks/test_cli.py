"""``erp sdk ...`` via the real console script: build the mock spec from a file, list/show/activate/call."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from erp_platform.mock_erp import MockErpServer
from tests.sdks.conftest import ERP_AUTH
from tests.support.cli import ErpCli


@pytest.fixture(scope="module")
def cli_tenant(cli: ErpCli, new_tenant: Callable[..., str], mock_erp: MockErpServer) -> str:
    tenant = new_tenant("cli")
    for name, secret in (("token", ERP_AUTH["acme"].token), ("x_erp_tenant", "acme")):
        result = cli("credentials", "set", tenant, name, "--sdk", "mock_erp", input=secret)
        assert result.code == 0, result.stderr
    result = cli("tenant", "allow-egress", tenant, f"127.0.0.1:{mock_erp.port}")
    assert result.code == 0, result.stderr
    return tenant


def test_build_list_show_activate_call(
    cli: ErpCli, cli_tenant: str, mock_spec: bytes, tmp_path: Path, mock_erp: MockErpServer
) -> None:
    spec = tmp_path / "mock_erp.openapi.json"
    spec.write_bytes(mock_spec)
    built = cli("sdk", "build", cli_tenant, "--spec", str(spec), "--json", timeout=600)
    assert built.code == 0, built.stderr
    info = built.json()
    assert (info["name"], info["version"], info["status"]) == ("mock_erp", 1, "TESTING")
    assert info["operation_count"] == 21 and info["skipped_operations"] == []
    assert info["test_results"]["target"] == "mock_erp" and info["test_results"]["passed"] is True

    listed = cli("sdk", "list", cli_tenant, "--json")
    assert listed.code == 0, listed.stderr
    assert [(i["name"], i["version"], i["status"]) for i in listed.json()] == [("mock_erp", 1, "TESTING")]

    shown = cli("sdk", "show", cli_tenant, "mock_erp", "--version", "1", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["wasm_hash"] == info["wasm_hash"]
    assert shown.json()["artifacts"]["wasm"] == f"tenants/{cli_tenant}/sdks/mock_erp/v1/component.wasm"

    human = cli("sdk", "show", cli_tenant, "mock_erp")
    assert human.code == 0, human.stderr
    assert human.stdout.splitlines()[0] == f"SDK mock_erp v1 of tenant {cli_tenant}"
    assert "  tests               20/20 operations passed against the mock ERP" in human.stdout

    activated = cli("sdk", "activate", cli_tenant, "mock_erp", "1")
    assert activated.code == 0, activated.stderr
    assert activated.stdout.strip() == f"SDK mock_erp v1 of tenant {cli_tenant} is ACTIVE"

    called = cli("sdk", "call", cli_tenant, "mock_erp", "list_customers", "--params", '{"_page_size": 7}',
                 "--pages", "2", "--json")
    assert called.code == 0, called.stderr
    pages = called.json()["pages"]
    assert [len(p["records"]) for p in pages] == [7, 7] and pages[1]["next"] is not None
    expected = list(mock_erp.expected_records("acme", "customers"))[:14]
    assert [r["id"] for p in pages for r in p["records"]] == [r["id"] for r in expected]
    assert pages[0]["records"][0]["created_at"] == expected[0]["created_at"].replace("Z", "+00:00")

    lines = cli("sdk", "call", cli_tenant, "mock_erp", "get_customer", "--params", '{"id": 3}')
    assert lines.code == 0, lines.stderr
    assert json.loads(lines.stdout)["number"] == expected[2]["number"]
    assert lines.stderr.strip() == "0 records in 1 page(s); next: none (last page)"


def test_cli_errors_exit_2_with_the_message(
    cli: ErpCli, new_tenant: Callable[..., str], tmp_path: Path
) -> None:
    cli_tenant = new_tenant("clierr")
    missing = cli("sdk", "build", cli_tenant, "--spec", str(tmp_path / "nope.yaml"))
    assert missing.code == 2
    assert missing.stderr.strip() == f"error: spec file not found: {tmp_path / 'nope.yaml'}; check the path"
    bad_header = cli("sdk", "build", cli_tenant, "--spec", str(tmp_path / "x.yaml"),
                     "--header", "X-ERP-Tenant")
    assert bad_header.code == 2
    assert bad_header.stderr.strip() == (
        "error: --header 'X-ERP-Tenant' is not NAME=VALUE, e.g. --header X-ERP-Tenant=acme"
    )
    bad_params = cli("sdk", "call", cli_tenant, "mock_erp", "list_customers", "--params", "[1]")
    assert bad_params.code == 2
    assert bad_params.stderr.strip() == (
        "error: --params must be a JSON object, got list; e.g. --params '{\"id\": 7}'"
    )
    unknown = cli("sdk", "show", cli_tenant, "nothing_here")
    assert unknown.code == 2
    assert unknown.stderr.strip() == (
        f"error: SDK 'nothing_here' of tenant {cli_tenant!r} does not exist (its SDKs: none); build it with "
        f"`erp sdk build {cli_tenant} --spec FILE`"
    )
