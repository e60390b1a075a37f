"""What a user reads: `erp run` names the tenant or workflow that does not exist (and whether `erp dev` runs),
help texts are readable, and `erp mock-erp` prints its spec and an example workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.cli import ErpCli
from tests.workflows.samples import VALID, insert_sdk


@pytest.fixture(scope="module")
def workflow_tenant(tenants: object, engine: Engine, erp: ErpCli, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tenant with workflow orders_sync v1 ACTIVE and orders_draft v1 DRAFT."""
    slug = "msg_tenant"
    assert erp("tenant", "create", slug, "--tier", "standard").code == 0
    insert_sdk(engine, slug)
    folder = tmp_path_factory.mktemp("wf")
    (folder / "active.yaml").write_text(VALID)
    (folder / "draft.yaml").write_text(VALID.replace("id: orders_sync", "id: orders_draft", 1))
    for name in ("active", "draft"):
        assert erp("workflow", "apply", slug, str(folder / f"{name}.yaml")).code == 0
    assert erp("workflow", "activate", slug, "orders_sync", "1").code == 0
    return slug


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "orders_sync"], "tenant 'nobody' does not exist; list tenants with `erp tenant list`"),
        (["msg_tenant", "orders_snyc"],
         "tenant 'msg_tenant' has no workflow 'orders_snyc' (did you mean 'orders_sync'?); its workflows: "
         "orders_draft, orders_sync; see `erp workflow list msg_tenant`"),
        (["msg_tenant", "orders_draft"],
         "workflow 'orders_draft' of tenant 'msg_tenant' has no ACTIVE version (v1 DRAFT); activate one with "
         "`erp workflow activate msg_tenant orders_draft 1`"),
    ],
)
def test_run_names_what_does_not_exist(erp: ErpCli, workflow_tenant: str, args: list[str], message: str) -> None:
    result = erp("run", *args)
    assert (result.code, result.stderr) == (2, f"error: {message}\n")


def test_run_says_when_erp_dev_is_not_running(erp: ErpCli, workflow_tenant: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli = ErpCli(database_url=erp.database_url, home=home)
    result = cli("run", workflow_tenant, "orders_sync")
    assert (result.code, result.stderr) == (
        2, f"error: the platform is not running for ERP_HOME {home}: start `erp dev` in another terminal (it "
           "runs the queue, the code servers and the run workers), then run this again\n")


def test_the_slug_rule_reads_as_text_in_help(erp: ErpCli) -> None:
    wide = ErpCli(database_url=erp.database_url, home=erp.home, extra_env=(("COLUMNS", "200"),))
    result = wide("tenant", "create", "--help")
    assert result.code == 0
    assert ("tenant slug: 3 to 40 characters, a lowercase letter first, then lowercase letters, digits or "
            "underscores (e.g. acme)") in result.stdout


def test_mock_erp_spec_and_example_workflow(erp: ErpCli) -> None:
    spec = erp("mock-erp", "spec", "--base-url", "http://127.0.0.1:8911")
    assert spec.code == 0, spec.stderr
    document = json.loads(spec.stdout)
    assert (document["info"]["title"], document["servers"]) == ("Mock ERP", [{"url": "http://127.0.0.1:8911"}])
    bad = erp("mock-erp", "spec", "--base-url", "127.0.0.1:8911")
    assert (bad.code, bad.stderr) == (
        2, "error: --base-url '127.0.0.1:8911' is not an http(s) URL, e.g. --base-url http://127.0.0.1:8900\n")
    example = erp("mock-erp", "example-workflow")
    assert example.code == 0
    assert example.stdout.startswith("# Customers (OData V4) and sales orders")
    assert "parameters:\n  erp_tenant:\n" in example.stdout



def test_control_characters_in_a_spec_file_name_never_reach_the_terminal(
    erp: ErpCli, tmp_path: Path
) -> None:
    assert erp("tenant", "create", "msg_ansi", "--tier", "free").code == 0
    hostile = "\x1b[2J\x1b]0;owned\x07spec\r.json"
    missing = erp("sdk", "build", "msg_ansi", "--spec", str(tmp_path / hostile))
    assert missing.code == 2
    assert "\x1b" not in missing.stderr and "\x07" not in missing.stderr and "\r" not in missing.stderr
    assert missing.stderr.strip() == (
        f"error: spec file not found: {tmp_path}/\\x1b[2J\\x1b]0;owned\\x07spec\\x0d.json; check the path"
    )
    (tmp_path / hostile).write_text("not: [a spec")
    broken = erp("sdk", "build", "msg_ansi", "--spec", str(tmp_path / hostile))
    assert broken.code == 2
    assert "\x1b" not in broken.stderr + broken.stdout and "\\x1b[2J\\x1b]0;owned\\x07spec\\x0d.json" in broken.stderr


@pytest.mark.parametrize(("text", "shown"), [
    ("plain text, kept as is\n\twith newline and tab", "plain text, kept as is\n\twith newline and tab"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("title\x1b]0;owned\x07", "title\\x1b]0;owned\\x07"),
    ("overwrite\rhidden", "overwrite\\x0dhidden"),
    ("back\x08space and nul\x00", "back\\x08space and nul\\x00"),
    ("c1 csi \x9b2J", "c1 csi \\x9b2J"),
    ("bidi \u202egnp.exe", "bidi \\u202egnp.exe"),
    ("umlauts äöü and € stay", "umlauts äöü and € stay"),
])
def test_safe_text_shows_control_characters_instead_of_running_them(text: str, shown: str) -> None:
    from erp_platform.cli._output import safe_text

    assert safe_text(text) == shown
