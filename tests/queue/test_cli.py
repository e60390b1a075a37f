"""``erp ops``: the real console command against the session's database and Dagster instance."""

from __future__ import annotations

from typing import Any

import pytest
from dagster import DagsterRunStatus
from sqlalchemy import Engine, text

from tests.queue.harness import STANDARD, QueueStack
from tests.support.cli import ErpCli

ACTIVE = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED)
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def audit_actions(engine: Engine, target: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, actor FROM erp_control.audit_log WHERE target_id = :t "
                                 "ORDER BY id"), {"t": target})
        return [(r.action, r.actor) for r in rows]


def ok(result: Any) -> Any:
    assert result.code == 0, result.stderr
    return result.json()


def test_status_reports_tiers_and_tenants(queue: QueueStack, erp: ErpCli) -> None:
    _, config = queue.gate()
    run_id = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(run_id, ACTIVE)
    report = ok(erp("ops", "status", "--json"))
    standard = next(t for t in report["tiers"] if t["tier"] == "standard")
    assert {k: standard[k] for k in ("running", "run_limit", "available_slots", "utilisation_percent",
                                     "max_queue_depth", "tenant_run_limit")} == {
        "running": 1, "run_limit": 20, "available_slots": 19, "utilisation_percent": 5.0,
        "max_queue_depth": 2000, "tenant_run_limit": 10}
    tenant = next(t for t in report["tenants"] if t["slug"] == STANDARD)
    assert {k: tenant[k] for k in ("tier", "running", "run_limit", "available_slots",
                                   "max_concurrent_workflows", "workflows_left", "max_jobs_per_hour")} == {
        "tier": "standard", "running": 1, "run_limit": 10, "available_slots": 9,
        "max_concurrent_workflows": 50, "workflows_left": 49, "max_jobs_per_hour": 1000}
    assert 999 <= tenant["jobs_left"] <= 1000  # one token taken, refilling at 1000 per hour
    wide = ErpCli(database_url=erp.database_url, home=erp.home, extra_env=(("COLUMNS", "250"),))
    table = wide("ops", "status")
    assert table.code == 0, table.stderr
    assert "run queue (1 running of at most 125, 0 queued)" in table.stdout
    row = next(line for line in table.stdout.splitlines() if "qa_std" in line)
    assert row.split()[:5] == ["qa_std", "standard", "1/10", "0", "49/50"]
    narrow = ErpCli(database_url=erp.database_url, home=erp.home, extra_env=(("COLUMNS", "80"),))
    table = narrow("ops", "status")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in table.stdout  # nothing is cut to fit
    row = next(line for line in lines if line.split()[:1] == ["qa_std"])
    assert row.split()[:5] == ["qa_std", "standard", "1/10", "0", "49/50"]


def test_flags_set_list_clear_and_their_effect(queue: QueueStack, erp: ErpCli, engine: Engine) -> None:
    flag = ok(erp("ops", "flag", "set", "--scope", "tenant", "--id", STANDARD, "--type", "block",
                  "--reason", "invoices duplicated", "--json"))
    assert (flag["scope"], flag["scope_id"], flag["flag_type"], flag["set_by"]) == (
        "tenant", STANDARD, "block", "test:cli")
    assert [f["id"] for f in ok(erp("ops", "flag", "list", "--tenant", STANDARD, "--json"))] == [flag["id"]]
    assert queue.submit_refused(STANDARD).reason == "flag_block"
    status = ok(erp("ops", "status", "--json"))
    assert next(t for t in status["tenants"] if t["slug"] == STANDARD)["flags"] == [
        f"block flag #{flag['id']} on tenant qa_std (set by test:cli: invoices duplicated)"]
    cleared = ok(erp("ops", "flag", "clear", str(flag["id"]), "--json"))
    assert (cleared["enabled"], cleared["cleared_by"]) == (False, "test:cli")
    assert audit_actions(engine, str(flag["id"])) == [("flag.set", "test:cli"), ("flag.clear", "test:cli")]
    limited = ok(erp("ops", "flag", "set", "--scope", "sdk", "--id", f"{STANDARD}/acme_erp@1", "--type",
                     "rate_limit", "--limit", "30", "--reason", "ERP throttles us", "--json"))
    assert limited["value"] == {"max_api_calls_per_minute": 30}


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "planet", "--type", "pause"],
     "unknown flag scope 'planet': use one of global, tenant, workflow, sdk"),
    (["--scope", "global", "--id", "qa_std", "--type", "pause"], "a global flag takes no --id; remove it"),
    (["--scope", "tenant", "--type", "pause"],
     "scope tenant needs --id of the form <tenant slug> (received None)"),
    (["--scope", "workflow", "--id", "qa_std", "--type", "pause"],
     "scope workflow needs --id of the form <tenant slug>/<workflow id> (received 'qa_std')"),
    (["--scope", "tenant", "--id", "qa_std", "--type", "freeze"],
     "unknown flag type 'freeze': use one of pause, block, rate_limit, ai_off"),
    (["--scope", "tenant", "--id", "qa_std", "--type", "rate_limit"],
     "a rate_limit flag needs --limit N (max API calls per minute)"),
    (["--scope", "tenant", "--id", "qa_std", "--type", "pause", "--limit", "5"],
     "--limit applies to rate_limit flags only; remove it or use --type rate_limit"),
    (["--scope", "tenant", "--id", "qa_std", "--type", "rate_limit", "--limit", "0"],
     "a rate_limit flag needs a positive max_api_calls_per_minute (e.g. --limit 60)"),
])
def test_bad_flag_input_is_refused_with_the_fix(erp: ErpCli, engine: Engine, args: list[str],
                                                message: str) -> None:
    result = erp("ops", "flag", "set", *args, "--reason", "testing")
    assert (result.code, result.stderr.strip()) == (2, f"error: {message}")


def test_a_blank_reason_is_refused(erp: ErpCli, engine: Engine) -> None:
    result = erp("ops", "flag", "set", "--scope", "global", "--type", "pause", "--reason", "  ")
    assert (result.code, result.stderr.strip()) == (
        2, "error: a flag needs --reason: say why, so other operators know when to clear it")


def test_tenant_pause_and_resume(queue: QueueStack, erp: ErpCli) -> None:
    paused = ok(erp("ops", "tenant", "pause", STANDARD, "--reason", "moving the ERP", "--json"))
    assert (paused["scope"], paused["flag_type"]) == ("tenant", "pause")
    assert queue.submit_refused(STANDARD).reason == "flag_pause"
    ok(erp("ops", "tenant", "resume", STANDARD, "--json"))
    assert queue.wait(queue.submit(STANDARD), DONE).status == DagsterRunStatus.SUCCESS
    again = erp("ops", "tenant", "resume", STANDARD)
    assert (again.code, again.stderr.strip()) == (
        2, "error: tenant 'qa_std' is not paused; see `erp ops flag list --tenant qa_std`")
    unknown = erp("ops", "tenant", "pause", "no_such_tenant", "--reason", "x")
    assert (unknown.code, unknown.stderr.strip()) == (
        2, "error: tenant 'no_such_tenant' does not exist; list tenants with `erp tenant list`")


def test_run_pause_resume_cancel(queue: QueueStack, erp: ErpCli, engine: Engine) -> None:
    _, config = queue.gate()
    run_id = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(run_id, ACTIVE)
    assert ok(erp("ops", "run", "pause", run_id, "--reason", "look first", "--json"))["action"] == "paused"
    assert queue.run(run_id).tags["erp/paused"] == "true"
    assert ok(erp("ops", "run", "resume", run_id, "--json"))["action"] == "unpaused"
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    queue.wait_for_log(run_id, 'Started execution of step "gate"')
    cancelled = ok(erp("ops", "run", "cancel", run_id, "--json"))
    assert cancelled["action"] == "cancel_requested"
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.CANCELED
    assert audit_actions(engine, run_id) == [("run.pause", "test:cli"), ("run.resume", "test:cli"),
                                             ("run.cancel", "test:cli")]
    missing = erp("ops", "run", "cancel", "0000-missing")
    assert (missing.code, missing.stderr.strip()) == (
        2, "error: run 0000-missing does not exist in this Dagster instance; check the run id")


def test_pools_set_and_list(queue: QueueStack, erp: ErpCli, engine: Engine) -> None:
    pool = f"erp_{STANDARD}__acme_erp"
    result = ok(erp("ops", "pool", "set", pool, "2", "--json"))
    assert (result["pool"], result["limit"], result["tenant"], result["from_default"]) == (
        pool, 2, STANDARD, False)
    assert pool in [p["pool"] for p in ok(erp("ops", "pool", "list", "--json"))]
    assert audit_actions(engine, pool) == [("pool.set", "test:cli")]
    bad = erp("ops", "pool", "set", "no spaces please", "2")
    assert (bad.code, bad.stderr.strip()) == (
        2, "error: pool name 'no spaces please' is invalid: use letters, digits and _ . : - (at most 200 "
           "characters), e.g. erp_acme__business_central")
    negative = erp("ops", "pool", "set", pool, "--", "-1")
    assert (negative.code, negative.stderr.strip()) == (
        2, "error: pool limit must be between 0 and 10000 (received -1)")


def test_enforce_reports_nothing_to_cancel(queue: QueueStack, erp: ErpCli) -> None:
    assert ok(erp("ops", "enforce", "--json")) == []
