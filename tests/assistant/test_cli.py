"""``erp assistant ...`` and ``erp sdk build --docs`` through the real console script (subprocesses)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from erp_platform.mock_erp import MockErpServer
from tests.sdks.conftest import ERP_AUTH
from tests.support.cli import ErpCli


@pytest.fixture(scope="module")
def cli(erp: ErpCli, erp_home: Path, wasm_cache: Path) -> ErpCli:
    """The CLI with its wasm cache pointing at the session's (components compile once per session)."""
    cache = erp_home / "cache" / "wasm"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.symlink_to(wasm_cache, target_is_directory=True)
    return ErpCli(database_url=erp.database_url, home=erp.home,
                  extra_env=(("COLUMNS", "200"), ("ERP_ASSISTANT_API_KEY_ENV", "ERP_TEST_NO_SUCH_KEY")))


@pytest.fixture(scope="module")
def tenant(cli: ErpCli, new_tenant: Callable[..., str], mock_erp: MockErpServer, mock_spec: bytes,
           tmp_path_factory: pytest.TempPathFactory) -> str:
    slug = new_tenant("aicli")
    for name, secret in (("token", ERP_AUTH["acme"].token), ("x_erp_tenant", "acme")):
        assert cli("credentials", "set", slug, name, "--sdk", "mock_erp", input=secret).code == 0
    assert cli("tenant", "allow-egress", slug, f"127.0.0.1:{mock_erp.port}").code == 0
    spec = tmp_path_factory.mktemp("aicli") / "mock_erp.openapi.json"
    spec.write_bytes(mock_spec)
    built = cli("sdk", "build", slug, "--spec", str(spec), "--json", timeout=600)
    assert built.code == 0, built.stderr
    assert cli("sdk", "activate", slug, "mock_erp", "1").code == 0
    return slug


def test_draft_activate_rollback_from_the_terminal(cli: ErpCli, tenant: str) -> None:
    first = cli("assistant", "draft", tenant, "sync customers into cli_customers every hour", "--json", timeout=300)
    assert first.code == 0, first.stderr
    turn = first.json()
    assert turn["offline"] is True and turn["draft"]["status"] == "VALID" and turn["draft"]["version"] == 1
    assert turn["status"].startswith("Draft stored: workflow cli_customers_sync v1 (DRAFT, not active;")
    human = cli("assistant", "draft", tenant, "sync customers into cli_customers every 30 minutes",
                "--conversation", turn["conversation_id"], timeout=300)
    assert human.code == 0, human.stderr
    assert "cli_customers_sync v2 (DRAFT" in human.stdout and "*/30 * * * *" in human.stdout
    assert "rows would be merged (nothing written)" in human.stdout
    activated = cli("assistant", "activate", tenant, str(turn["draft"]["id"]))
    assert activated.code == 0, activated.stderr
    assert activated.stdout.strip() == (f"workflow cli_customers_sync v1 of tenant {tenant} is ACTIVE; roll back "
                                        f"with `erp assistant rollback {tenant} cli_customers_sync`")
    assert cli("workflow", "activate", tenant, "cli_customers_sync", "2").code == 0
    back = cli("assistant", "rollback", tenant, "cli_customers_sync", "--json")
    assert back.code == 0, back.stderr
    assert back.json() == {"workflow_id": "cli_customers_sync", "from_version": 2, "to_version": 1}
    drafts = cli("assistant", "drafts", tenant, "--json").json()
    assert [(d["workflow_id"], d["version"], d["status"]) for d in drafts] == [
        ("cli_customers_sync", 1, "VALID"), ("cli_customers_sync", 2, "VALID")]
    shown = cli("assistant", "show", tenant, str(drafts[1]["id"]))
    assert shown.code == 0 and "+++ cli_customers_sync v2 (DRAFT)" in shown.stdout


def test_chat_in_the_terminal(cli: ErpCli, tenant: str) -> None:
    result = cli("assistant", "chat", tenant, input="sync items into chat_items daily\n/activate\nyes\n/quit\n",
                 timeout=300)
    assert result.code == 0, result.stderr
    assert "(offline; no AI provider key (ERP_TEST_NO_SUCH_KEY is not set))" in result.stdout
    assert "Draft stored: workflow chat_items_sync v1" in result.stdout
    assert "chat_items_sync v1 is ACTIVE" in result.stdout
    assert "schedule 0 0 * * * (UTC)" in result.stdout


def test_offline_mapper(cli: ErpCli, tenant: str) -> None:
    result = cli("assistant", "map", tenant, "mock_erp", "list_customers", "customers_new", "--json")
    assert result.code == 0, result.stderr
    proposal = result.json()
    assert proposal["new_table"] is True and proposal["columns"][0]["source"] == "id"
    unknown = cli("assistant", "map", tenant, "other_erp", "list_customers", "t")
    assert unknown.code == 2
    assert unknown.stderr.strip() == ("error: unknown SDK 'other_erp': this tenant's ACTIVE SDKs are mock_erp")


def test_ai_switch_status_samples_and_link(cli: ErpCli, tenant: str) -> None:
    off = cli("assistant", "off", tenant, "--reason", "legal hold")
    assert off.code == 0 and off.stdout.startswith(f"AI assistant off for {tenant} (flag #")
    status = cli("assistant", "status", tenant, "--json").json()
    assert status["ai"] is False and status["why_not"].startswith("the AI assistant is off: ai_off flag #")
    assert cli("assistant", "on", tenant).stdout.strip() == f"AI assistant on for {tenant} (1 flag(s) cleared)"
    assert cli("assistant", "share-samples", tenant, "--on").code == 0
    assert cli("assistant", "status", tenant, "--json").json()["share_samples"] is True
    assert cli("assistant", "share-samples", tenant, "--off").code == 0
    link = cli("assistant", "link", tenant)
    assert link.code == 0 and link.stdout.startswith(f"http://127.0.0.1:3100/assistant/{tenant}?token=")
    flag = cli("ops", "flag", "set", "--scope", "workflow", "--id", f"{tenant}/x", "--type", "ai_off",
               "--reason", "r")
    assert flag.code == 2
    assert flag.stderr.strip() == ("error: an ai_off flag turns the AI assistant off globally or for one tenant: use "
                                   "--scope global or --scope tenant --id <tenant slug>")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "error: give exactly one of --spec FILE (OpenAPI, Swagger or EDMX) or --docs FILE_OR_FOLDER "
             "(documentation read by the AI assistant), e.g. `erp sdk build {tenant} --spec erp.openapi.yaml`"),
        (("--spec", "a.yaml", "--docs", "b.md"),
         "error: give exactly one of --spec FILE (OpenAPI, Swagger or EDMX) or --docs FILE_OR_FOLDER "
         "(documentation read by the AI assistant), e.g. `erp sdk build {tenant} --spec erp.openapi.yaml`"),
        (("--docs", "/nonexistent/api.md"),
         "error: --docs /nonexistent/api.md: no such file or folder; pass a Markdown, HTML or text file, or a "
         "folder of them"),
    ],
)
def test_sdk_build_docs_bad_input(cli: ErpCli, tenant: str, args: tuple[str, ...], expected: str) -> None:
    result = cli("sdk", "build", tenant, *args)
    assert result.code == 2
    assert result.stderr.strip() == expected.format(tenant=tenant)
