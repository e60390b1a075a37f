"""``erp init`` and ``erp tenant ...`` through the real console entry point."""

from __future__ import annotations

from tests.support.cli import ErpCli


def test_init_is_idempotent(erp: ErpCli) -> None:
    first = erp("init", "--json")
    second = erp("init", "--json")
    assert first.code == 0, first.stderr
    assert second.code == 0, second.stderr
    assert second.json()["changed"] is False
    assert second.json()["revision"] == first.json()["revision"]


def test_tenant_lifecycle_json(erp: ErpCli) -> None:
    created = erp("tenant", "create", "cli_acme", "--tier", "standard", "--name", "Acme GmbH", "--json")
    assert created.code == 0, created.stderr
    assert created.json()["schema_name"] == "tenant_cli_acme"
    listed = erp("tenant", "list", "--json")
    assert "cli_acme" in [t["slug"] for t in listed.json()]
    shown = erp("tenant", "show", "cli_acme", "--json").json()
    assert shown["tier"] == "standard"
    assert shown["quotas"]["max_concurrent_workflows"] == 50
    assert (
        erp("tenant", "set-tier", "cli_acme", "enterprise", "--json").json()["quotas"]["max_jobs_per_hour"]
        == 10000
    )
    assert (
        erp("tenant", "set-quota", "cli_acme", "--max-jobs-per-hour", "42", "--json").json()["quotas"][
            "max_jobs_per_hour"
        ]
        == 42
    )
    assert erp("tenant", "suspend", "cli_acme", "--json").json()["status"] == "suspended"
    assert erp("tenant", "reactivate", "cli_acme", "--json").json()["status"] == "active"
    refused = erp("tenant", "delete", "cli_acme", "--purge")
    assert refused.code == 2
    assert "add --yes to confirm" in refused.stderr
    assert erp("tenant", "show", "cli_acme").code == 0
    purged = erp("tenant", "delete", "cli_acme", "--purge", "--yes")
    assert purged.code == 0, purged.stderr
    gone = erp("tenant", "show", "cli_acme")
    assert gone.code == 2
    assert (
        gone.stderr.strip() == "error: tenant 'cli_acme' does not exist; list tenants with `erp tenant list`"
    )


def test_human_output_lists_tenants(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cli_table", "--tier", "free").code == 0
    out = erp("tenant", "list")
    assert out.code == 0
    assert "cli_table" in out.stdout
    assert "Traceback" not in out.stderr
