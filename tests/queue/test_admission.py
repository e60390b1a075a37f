"""Admission at submit time, through the real coordinator: every refusal reason with its exact message,
the run failed to start with that message, one ``run_refusals`` row each, and no token spent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dagster import DagsterRunStatus
from sqlalchemy import Engine, text

from erp_platform.controls import ControlFlags
from erp_platform.queue import (
    AdmissionControl,
    InstanceRunCounter,
    RefusalReason,
    RunRefused,
    RunRequest,
    load_queue_settings,
)
from erp_platform.tenancy import TenantService
from erp_platform.workflows import WorkflowRecord, WorkflowRegistry
from tests.queue.conftest import workflow_tags
from tests.queue.harness import ENTERPRISE, FREE, STANDARD, QueueStack

ACTIVE = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED)
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def refusal_row(engine: Engine, run_id: str) -> tuple[str, str, str | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT reason, message, tenant_slug, tier FROM erp_control.run_refusals "
                                "WHERE run_id = :r"), {"r": run_id}).one()
    return row.reason, row.message, row.tenant_slug, row.tier


def bucket_row(engine: Engine, slug: str) -> tuple[float, datetime] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT tokens, updated_at FROM erp_control.token_buckets WHERE bucket = :b"),
                           {"b": f"jobs_per_hour:{slug}"}).first()
    return None if row is None else (row.tokens, row.updated_at)


def assert_refused(queue: QueueStack, engine: Engine, slug: str, reason: str, message: str,
                   **kwargs: Any) -> str:
    refused = queue.submit_refused(slug, **kwargs)
    assert (refused.reason, refused.message) == (reason, message)
    assert refused.status == DagsterRunStatus.FAILURE  # "failed to start" in the UI
    # the engine event the UI shows on the failed run
    assert message in refused.messages  # the reason alone: no class name, no stack trace
    assert not [m for m in refused.messages if "RunRefused" in m or "Traceback" in m]
    row = refusal_row(engine, refused.run_id)
    assert row[:2] == (reason, message)
    assert queue.run(refused.run_id).tags["erp/refused"] == reason  # the UI can filter refusals
    return refused.run_id


# -- flags: every scope and type --------------------------------------------------------------------------
@pytest.mark.parametrize("flag_type", ["block", "pause"])
@pytest.mark.parametrize("scope", ["global", "tenant", "workflow", "sdk", "sdk_version"])
def test_a_flag_on_any_scope_refuses_new_runs(queue: QueueStack, engine: Engine, scope: str, flag_type: str,
                                              new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    scope_ids = {"global": None, "tenant": STANDARD, "workflow": f"{STANDARD}/{record.workflow_id}",
                 "sdk": f"{STANDARD}/acme_erp", "sdk_version": f"{STANDARD}/acme_erp@1"}
    flag = ControlFlags(engine).set(scope=scope.removesuffix("_version"), scope_id=scope_ids[scope],
                                    flag_type=flag_type, reason="ERP maintenance window")
    where = "global" if scope == "global" else f"{scope.removesuffix('_version')} {scope_ids[scope]}"
    assert_refused(
        queue, engine, STANDARD, f"flag_{flag_type}",
        f"{flag_type} flag #{flag.id} on {where} (set by test:queue: ERP maintenance window) refuses new "
        f"runs of tenant 'qa_std'; launch again once an operator clears it (`erp ops flag clear {flag.id}`)",
        tags=workflow_tags(record),
    )
    ControlFlags(engine).clear(flag.id)
    admitted = queue.submit(STANDARD, tags=workflow_tags(record))
    assert queue.wait(admitted, DONE).status == DagsterRunStatus.SUCCESS


def test_a_rate_limit_flag_does_not_refuse_runs(queue: QueueStack, engine: Engine) -> None:
    ControlFlags(engine).set(scope="tenant", scope_id=STANDARD, flag_type="rate_limit", reason="ERP is slow",
                             value={"max_api_calls_per_minute": 10})
    run_id = queue.submit(STANDARD)
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS


# -- tenant ------------------------------------------------------------------------------------------------
def test_a_suspended_tenant_is_refused(queue: QueueStack, engine: Engine, tenants: TenantService) -> None:
    tenants.set_status(STANDARD, "suspended")
    run_id = assert_refused(
        queue, engine, STANDARD, "tenant_suspended",
        "tenant 'qa_std' is suspended: its runs are refused; reactivate it with `erp tenant reactivate "
        "qa_std`, then launch again",
    )
    assert refusal_row(engine, run_id)[2:] == ("qa_std", "standard")


def test_a_run_tagged_with_another_tenant_is_refused(queue: QueueStack, engine: Engine) -> None:
    refused = queue.submit_refused(STANDARD, tags={"erp/tenant": ENTERPRISE})
    assert (refused.reason, refused.message) == (
        "tenant_mismatch",
        f"run {refused.run_id} of code location 'tenant_qa_std' is tagged erp/tenant='qa_ent': a tenant's "
        "runs carry its own slug ('qa_std'); remove or correct the tag and launch again",
    )


def test_an_unknown_tenant_is_refused(queue: QueueStack, engine: Engine) -> None:
    assert queue.instance is not None
    control = AdmissionControl(engine)
    request = RunRequest(run_id="r-unknown", job_name="quick", location=None,
                         tags={"erp/tenant": "nobody_here"})
    with pytest.raises(RunRefused) as caught:
        control.check(request, InstanceRunCounter(queue.instance))
    assert (caught.value.reason, str(caught.value)) == (
        RefusalReason.TENANT_UNKNOWN,
        "tenant 'nobody_here' of run r-unknown does not exist; onboard it with `erp tenant create SLUG "
        "--tier TIER` or correct the run's erp/tenant tag",
    )
    assert refusal_row(engine, "r-unknown")[0] == "tenant_unknown"


def test_runs_are_given_their_tenants_concurrency_tags(queue: QueueStack, tenants: TenantService) -> None:
    run_id = queue.submit(ENTERPRISE, tags={"erp/tier": "free", "erp/tenant_free": ENTERPRISE})
    tags = queue.run(run_id).tags
    assert (tags["erp/tier"], tags["erp/tenant_enterprise"]) == ("enterprise", ENTERPRISE)


# -- workflow lifecycle --------------------------------------------------------------------------------------
def test_an_unknown_workflow_is_refused(queue: QueueStack, engine: Engine) -> None:
    assert_refused(
        queue, engine, STANDARD, "workflow_unknown",
        "workflow 'no_such_flow' version 3 of tenant 'qa_std' is not in the registry; launch a version "
        "listed by `erp workflow list qa_std`",
        tags={"erp/workflow": "no_such_flow", "erp/workflow_version": "3"},
    )


def test_a_draft_workflow_is_refused(queue: QueueStack, engine: Engine,
                                     new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD, activate=False)
    assert_refused(
        queue, engine, STANDARD, "workflow_unknown",
        f"workflow '{record.workflow_id}' version 1 of tenant 'qa_std' is a DRAFT that was never activated; "
        f"activate it first (`erp workflow activate qa_std {record.workflow_id} 1`)",
        tags=workflow_tags(record),
    )


def test_a_retired_workflow_version_is_refused(queue: QueueStack, engine: Engine, workflows: WorkflowRegistry,
                                               new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    workflows.retire(STANDARD, record.workflow_id, 1)
    assert_refused(
        queue, engine, STANDARD, "workflow_retired",
        f"workflow '{record.workflow_id}' version 1 of tenant 'qa_std' is RETIRED and never runs again; "
        f"activate a newer version (`erp workflow activate qa_std {record.workflow_id} VERSION`) and "
        "launch that",
        tags=workflow_tags(record),
    )


def test_a_version_past_force_cancel_after_is_refused(queue: QueueStack, engine: Engine,
                                                      workflows: WorkflowRegistry,
                                                      new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    past = datetime(2020, 1, 2, tzinfo=UTC)
    workflows.deprecate(STANDARD, record.workflow_id, 1, datetime(2020, 1, 1, tzinfo=UTC), past)
    assert_refused(
        queue, engine, STANDARD, "workflow_force_cancelled",
        f"workflow '{record.workflow_id}' version 1 of tenant 'qa_std' passed its force_cancel_after "
        "(2020-01-02T00:00:00+00:00): new runs are refused; activate a newer version (`erp workflow "
        f"activate qa_std {record.workflow_id} VERSION`) and launch that",
        tags=workflow_tags(record),
    )


def test_a_deprecated_version_is_admitted_with_a_warning(queue: QueueStack, workflows: WorkflowRegistry,
                                                         new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    later = datetime.now(UTC) + timedelta(days=30)
    workflows.deprecate(STANDARD, record.workflow_id, 1, datetime(2021, 5, 1, tzinfo=UTC), later)
    run_id = queue.submit(STANDARD, tags=workflow_tags(record))
    run = queue.wait(run_id, DONE)
    assert run.status == DagsterRunStatus.SUCCESS
    assert run.tags["erp/deprecated"] == "version 1 deprecated since 2021-05-01T00:00:00+00:00"
    warning = (f"workflow '{record.workflow_id}' version 1 of tenant 'qa_std' is deprecated since "
               f"2021-05-01T00:00:00+00:00; its runs are cancelled after {later.isoformat()}: the run was "
               "admitted, but activate a newer version soon")
    assert warning in queue.messages(run_id)


# -- backpressure and quotas --------------------------------------------------------------------------------
def test_backpressure_refuses_runs_over_the_tiers_queue_depth(queue: QueueStack, engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_QUEUE_MAX_QUEUE_DEPTH", '{"free": 3}')
    gate, config = queue.gate()
    holding = [queue.submit(FREE, "hold", run_config=config) for _ in range(2)]  # the tenant's cap is 2
    for run_id in holding:
        queue.wait(run_id, ACTIVE)
    waiting = [queue.submit(FREE, "hold", run_config=config) for _ in range(3)]
    assert {queue.run(r).status for r in waiting} == {DagsterRunStatus.QUEUED}
    run_id = assert_refused(queue, engine, FREE, "backpressure",
                            "at capacity: 3 runs queued for tier free, maximum 3; retry later")
    assert refusal_row(engine, run_id)[2:] == ("qa_free", "free")
    gate.touch()
    for run_id in holding + waiting:
        assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS


def test_max_concurrent_workflows_counts_queued_and_running_runs(queue: QueueStack, engine: Engine,
                                                                 tenants: TenantService) -> None:
    tenants.set_quotas(STANDARD, {"max_concurrent_workflows": 2})
    gate, config = queue.gate()
    first = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(first, ACTIVE)
    second = queue.submit(STANDARD, "hold", run_config=config)
    assert_refused(
        queue, engine, STANDARD, "quota_concurrent_workflows",
        "tenant 'qa_std' has 2 runs queued or running and its max_concurrent_workflows is 2; retry when some "
        "finish, cancel some (`erp ops run cancel RUN_ID`) or raise the quota (`erp tenant set-quota qa_std "
        "--max-concurrent-workflows N`)",
    )
    gate.touch()
    queue.wait(first, DONE)
    queue.wait(second, DONE)
    assert queue.wait(queue.submit(STANDARD), DONE).status == DagsterRunStatus.SUCCESS


def test_max_jobs_per_hour_is_a_token_bucket(queue: QueueStack, engine: Engine,
                                             tenants: TenantService) -> None:
    tenants.set_quotas(STANDARD, {"max_jobs_per_hour": 2})
    admitted = [queue.submit(STANDARD) for _ in range(2)]
    refused = queue.submit_refused(STANDARD)
    assert refused.reason == "quota_jobs_per_hour"
    assert refused.message.startswith("tenant 'qa_std' used its max_jobs_per_hour of 2; the next run can be "
                                      "admitted in ")
    assert refused.message.endswith(" s; retry later or raise the quota (`erp tenant set-quota qa_std "
                                    "--max-jobs-per-hour N`)")
    seconds = int(refused.message.split("admitted in ")[1].split(" s;")[0])
    assert 1700 <= seconds <= 1800  # one token refills in 3600 / 2 s
    for run_id in admitted:
        assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS


def test_refusals_never_spend_a_token(queue: QueueStack, engine: Engine, tenants: TenantService,
                                      new_workflow: Callable[..., WorkflowRecord],
                                      workflows: WorkflowRegistry) -> None:
    queue.wait(queue.submit(STANDARD), DONE)
    before = bucket_row(engine, STANDARD)
    assert before is not None
    flag = ControlFlags(engine).set(scope="tenant", scope_id=STANDARD, flag_type="block", reason="no")
    queue.submit_refused(STANDARD)
    ControlFlags(engine).clear(flag.id)
    record = new_workflow(STANDARD)
    workflows.retire(STANDARD, record.workflow_id, 1)
    queue.submit_refused(STANDARD, tags=workflow_tags(record))
    queue.submit_refused(STANDARD, tags={"erp/workflow": "nope", "erp/workflow_version": "1"})
    tenants.set_status(STANDARD, "suspended")
    queue.submit_refused(STANDARD)
    tenants.set_status(STANDARD, "active")
    tenants.set_quotas(STANDARD, {"max_concurrent_workflows": 0})
    queue.submit_refused(STANDARD)
    assert bucket_row(engine, STANDARD) == before  # the bucket row was not touched


def test_settings_are_read_at_every_submit(queue: QueueStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_QUEUE_MAX_QUEUE_DEPTH", '{"standard": 0}')
    refused = queue.submit_refused(STANDARD)
    assert refused.message == "at capacity: 0 runs queued for tier standard, maximum 0; retry later"
    monkeypatch.delenv("ERP_QUEUE_MAX_QUEUE_DEPTH")
    assert load_queue_settings().max_queue_depth["standard"] == 2000
    assert queue.wait(queue.submit(STANDARD), DONE).status == DagsterRunStatus.SUCCESS
