"""Kill switches and run controls on real runs: cancel (queued, running), pause/resume (run and flags),
block mid-run, resume by re-execution from failure, force_cancel_after; each with its audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dagster import DagsterRunStatus
from sqlalchemy import Engine, text

from erp_platform._errors import ConflictError, TenantIsolationError
from erp_platform.controls import ControlFlags
from erp_platform.queue import RunControls, enforce_force_cancel
from erp_platform.workflows import WorkflowRecord, WorkflowRegistry
from tests.queue.conftest import workflow_tags
from tests.queue.harness import ENTERPRISE, FREE, STANDARD, QueueStack

ACTIVE = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED)
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def audit(engine: Engine, target: str) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, actor, details FROM erp_control.audit_log "
                                 "WHERE target_id = :t ORDER BY id"), {"t": target}).all()
    return [(r.action, r.actor, r.details) for r in rows]


def controls(queue: QueueStack, engine: Engine, **kwargs: Any) -> RunControls:
    assert queue.instance is not None
    return RunControls(queue.instance, engine, actor="test:operator", workspace_file=queue.workspace_path,
                       **kwargs)


def test_cancel_a_queued_run(queue: QueueStack, engine: Engine) -> None:
    gate, config = queue.gate()
    holding = [queue.submit(FREE, "hold", run_config=config) for _ in range(2)]
    for run_id in holding:
        queue.wait(run_id, ACTIVE)
    queued = queue.submit(FREE, "hold", run_config=config)
    assert queue.run(queued).status == DagsterRunStatus.QUEUED
    result = controls(queue, engine).cancel(queued, reason="wrong parameters")
    assert (result.action, result.status, result.tenant) == ("cancelled", "CANCELED", FREE)
    assert "Cancel requested by test:operator (wrong parameters)." in queue.messages(queued)
    assert audit(engine, queued) == [("run.cancel", "test:operator",
                                      {"job": "hold", "reason": "wrong parameters", "force": False,
                                       "was": "QUEUED"})]
    gate.touch()


def test_cancel_a_running_run_terminates_its_worker(queue: QueueStack, engine: Engine) -> None:
    _, config = queue.gate()
    run_id = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    queue.wait_for_log(run_id, 'Started execution of step "gate"')
    result = controls(queue, engine).cancel(run_id)
    assert result.action == "cancel_requested"
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.CANCELED
    assert [a[0] for a in audit(engine, run_id)] == ["run.cancel"]
    with pytest.raises(ConflictError) as caught:
        controls(queue, engine).cancel(run_id)
    assert str(caught.value) == f"run {run_id} already finished (CANCELED); there is nothing to cancel"


def test_pause_holds_the_next_step_until_resume(queue: QueueStack, engine: Engine,
                                                new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    gate, config = queue.gate()
    run_id = queue.submit(STANDARD, "guarded", tags=workflow_tags(record), run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    ops = controls(queue, engine)
    paused = ops.pause(run_id, reason="ERP upgrade")
    assert (paused.action, queue.run(run_id).tags["erp/paused"]) == ("paused", "true")
    gate.touch()
    held = queue.wait_for_log(run_id, "held by an operator's pause")
    assert held.startswith("step 'guarded' held by an operator's pause of run ")
    assert queue.run(run_id).status == DagsterRunStatus.STARTED
    resumed = ops.resume(run_id)
    assert (resumed.action, queue.run(run_id).tags["erp/paused"]) == ("unpaused", "false")
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS
    assert [a[0] for a in audit(engine, run_id)] == ["run.pause", "run.resume"]
    assert audit(engine, run_id)[1][2] == {"job": "guarded", "action": "unpaused"}
    assert any("Run paused by test:operator: ERP upgrade" in m for m in queue.messages(run_id))
    with pytest.raises(ConflictError) as caught:
        ops.resume(run_id)
    assert str(caught.value) == (
        f"run {run_id} is SUCCESS: only paused, failed or cancelled runs can be resumed"
    )


def test_the_step_guard_logs_json_lines_with_the_run_context(
        queue: QueueStack, engine: Engine, new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    gate, config = queue.gate()
    run_id = queue.submit(STANDARD, "guarded", tags=workflow_tags(record), run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    controls(queue, engine).pause(run_id)
    gate.touch()
    queue.wait_for_log(run_id, "held by an operator's pause")
    controls(queue, engine).resume(run_id)
    queue.wait(run_id, DONE)
    parsed = [json.loads(line) for line in (queue.log_dir / f"run-{run_id}.log").read_text().splitlines()
              if line.startswith("{")]
    lines = [line for line in parsed if line["logger"] == "erp.run"]
    assert lines, "the guard wrote no JSON line"
    assert {k: lines[0][k] for k in ("level", "tenant", "workflow", "run_id", "step")} == {
        "level": "INFO", "tenant": STANDARD, "workflow": record.workflow_id, "run_id": run_id,
        "step": "guarded"}


@pytest.mark.parametrize("scope", ["tenant", "workflow"])
def test_a_pause_flag_holds_running_steps_and_clearing_it_releases_them(
        queue: QueueStack, engine: Engine, new_workflow: Callable[..., WorkflowRecord], scope: str) -> None:
    record = new_workflow(STANDARD)
    gate, config = queue.gate()
    run_id = queue.submit(STANDARD, "guarded", tags=workflow_tags(record), run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    scope_id = STANDARD if scope == "tenant" else f"{STANDARD}/{record.workflow_id}"
    flag = ControlFlags(engine).set(scope=scope, scope_id=scope_id, flag_type="pause", reason="ERP upgrade")
    gate.touch()
    queue.wait_for_log(run_id, f"step 'guarded' held by {flag.label}")
    ControlFlags(engine).clear(flag.id)
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS


def test_a_block_flag_fails_the_next_step_and_resume_reexecutes_from_failure(
        queue: QueueStack, engine: Engine, new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    gate, config = queue.gate()
    run_id = queue.submit(STANDARD, "guarded", tags=workflow_tags(record), run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    flag = ControlFlags(engine).set(scope="sdk", scope_id=f"{STANDARD}/acme_erp", flag_type="block",
                                    reason="credentials leaked")
    gate.touch()
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.FAILURE
    queue.wait_for_log(run_id, f"step 'guarded' blocked by {flag.label}")
    ControlFlags(engine).clear(flag.id)

    result = controls(queue, engine).resume(run_id)
    assert result.action == "reexecuted" and result.new_run_id is not None
    retry = queue.wait(result.new_run_id, DONE)
    assert retry.status == DagsterRunStatus.SUCCESS
    assert (retry.parent_run_id, retry.root_run_id) == (run_id, run_id)
    assert retry.tags["erp/workflow"] == record.workflow_id
    assert "erp/worker_pid" not in retry.tags or retry.tags["erp/worker_pid"] != queue.run(run_id).tags.get(
        "erp/worker_pid")
    started = queue.messages(result.new_run_id)
    assert not any('Started execution of step "gate"' in m for m in started)  # from failure: gate skipped
    assert audit(engine, run_id)[-1] == ("run.resume", "test:operator",
                                         {"job": "guarded", "action": "reexecuted",
                                          "new_run_id": result.new_run_id})


def test_resume_of_a_cancelled_run_reexecutes_it(queue: QueueStack, engine: Engine) -> None:
    gate, config = queue.gate()
    run_id = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    queue.wait_for_log(run_id, 'Started execution of step "gate"')
    controls(queue, engine).cancel(run_id)
    queue.wait(run_id, DONE)
    gate.touch()
    result = controls(queue, engine).resume(run_id)
    assert queue.wait(result.new_run_id or "", DONE).status == DagsterRunStatus.SUCCESS


def test_resume_refuses_a_failed_run_whose_steps_all_succeeded(queue: QueueStack, engine: Engine) -> None:
    """A worker killed after its last step succeeded leaves a FAILURE run with nothing left to run."""
    run_id = queue.submit(STANDARD)
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS
    assert queue.instance is not None
    queue.instance.report_run_failed(queue.run(run_id), "run worker lost after its last step (test)")
    assert queue.run(run_id).status == DagsterRunStatus.FAILURE
    with pytest.raises(ConflictError) as caught:
        controls(queue, engine).resume(run_id)
    assert str(caught.value) == (
        f"run {run_id} ended FAILURE after all its steps had succeeded, so there is nothing to re-execute; "
        f"start a new run with `erp run {STANDARD} quick`"
    )
    assert [a[0] for a in audit(engine, run_id)] == []  # nothing was re-executed or recorded as resumed


def test_a_resumed_run_is_admitted_like_any_other(queue: QueueStack, engine: Engine) -> None:
    _, config = queue.gate()
    run_id = queue.submit(STANDARD, "hold", run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    queue.wait_for_log(run_id, 'Started execution of step "gate"')
    controls(queue, engine).cancel(run_id)
    queue.wait(run_id, DONE)
    flag = ControlFlags(engine).set(scope="tenant", scope_id=STANDARD, flag_type="block", reason="audit")
    from erp_platform.queue import RunRefused

    with pytest.raises(RunRefused) as caught:
        controls(queue, engine).resume(run_id)
    assert caught.value.reason == "flag_block"
    assert flag.label in str(caught.value)


def test_force_cancel_after_cancels_running_runs_and_records_why(
        queue: QueueStack, engine: Engine, workflows: WorkflowRegistry,
        new_workflow: Callable[..., WorkflowRecord]) -> None:
    record = new_workflow(STANDARD)
    _, config = queue.gate()
    run_id = queue.submit(STANDARD, "guarded", tags=workflow_tags(record), run_config=config)
    queue.wait(run_id, (DagsterRunStatus.STARTED,))
    queue.wait_for_log(run_id, 'Started execution of step "gate"')
    other = queue.submit(STANDARD, "hold", run_config=config)  # not of that workflow: untouched
    queue.wait(other, (DagsterRunStatus.STARTED,))
    deadline = datetime.now(UTC) - timedelta(seconds=1)
    workflows.deprecate(STANDARD, record.workflow_id, 1, deadline - timedelta(days=1), deadline)
    assert queue.instance is not None
    [cancelled] = enforce_force_cancel(queue.instance, engine)
    assert (cancelled.run_id, cancelled.workflow, cancelled.version, cancelled.signalled) == (
        run_id, record.workflow_id, 1, True)
    assert queue.wait(run_id, DONE).status == DagsterRunStatus.CANCELED
    why = (f"workflow '{record.workflow_id}' version 1 of tenant 'qa_std' passed its force_cancel_after "
           f"({deadline.isoformat()}); the run is cancelled: activate a newer version and launch that")
    assert why in queue.messages(run_id)
    [(action, actor, details)] = audit(engine, run_id)
    assert (action, actor, details["signalled"]) == ("run.force_cancel", "system:force_cancel_after", True)
    assert enforce_force_cancel(queue.instance, engine) == []
    assert queue.run(other).status == DagsterRunStatus.STARTED


def test_pause_and_cancel_refuse_finished_or_paused_runs(queue: QueueStack, engine: Engine) -> None:
    run_id = queue.submit(STANDARD)
    queue.wait(run_id, DONE)
    with pytest.raises(ConflictError) as caught:
        controls(queue, engine).pause(run_id)
    assert str(caught.value) == f"run {run_id} is SUCCESS: only queued or running runs can be paused"
    _, config = queue.gate()
    live = queue.submit(STANDARD, "hold", run_config=config)
    controls(queue, engine).pause(live)
    with pytest.raises(ConflictError) as caught:
        controls(queue, engine).pause(live)
    assert str(caught.value) == f"run {live} is already paused; resume it with `erp ops run resume {live}`"


def test_tenant_scoped_controls_cannot_touch_another_tenants_runs(queue: QueueStack, engine: Engine) -> None:
    _, config = queue.gate()
    theirs = queue.submit(ENTERPRISE, "hold", run_config=config)
    mine = controls(queue, engine, tenant=STANDARD)
    for action in (mine.cancel, mine.pause, mine.resume):
        with pytest.raises(TenantIsolationError) as caught:
            action(theirs)
        assert str(caught.value) == (
            f"run {theirs} belongs to another tenant: tenant 'qa_std' can only control its own runs"
        )
    assert queue.run(theirs).status in (DagsterRunStatus.QUEUED, *ACTIVE)
    assert "erp/paused" not in queue.run(theirs).tags
    assert audit(engine, theirs) == []
    own = queue.submit(STANDARD, "hold", run_config=config)
    assert controls(queue, engine, tenant=STANDARD).cancel(own).tenant == STANDARD
