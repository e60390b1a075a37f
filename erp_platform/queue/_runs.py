"""Run controls: cancel, pause and resume one run; every action is audited and logged in the run.

- cancel: a queued run leaves the queue (CANCELED); a running one is terminated by the run launcher.
- pause: tags the run ``erp/paused=true``; its next step holds (see ``StepGuard``) until resumed.
- resume: a paused run that is still queued or running is unmarked (``erp/paused=false``); a run that
  failed or was cancelled is re-executed from failure (Dagster's ``ReexecutionStrategy.FROM_FAILURE``),
  and the new run goes through admission like any other.

A ``RunControls`` scoped to a tenant refuses runs of other tenants (TenantIsolationError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from erp_platform._errors import ConflictError, ErpPlatformError, NotFoundError, TenantIsolationError
from erp_platform.queue._admission import DEPRECATED_TAG, WORKFLOW_TAG
from erp_platform.queue._lifecycle import FORCE_CANCEL_TAG
from erp_platform.queue._policy import TENANT_TAG
from erp_platform.queue._refusals import refusal_of
from erp_platform.registry import current_actor, record_audit

PAUSED_TAG = "erp/paused"
WORKER_PID_TAG = "erp/worker_pid"
_NOT_INHERITED = frozenset({PAUSED_TAG, WORKER_PID_TAG, DEPRECATED_TAG, FORCE_CANCEL_TAG})
_LIVE = (DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
         DagsterRunStatus.STARTED)
_RESUMABLE = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)

RunActionKind = Literal["cancelled", "cancel_requested", "paused", "unpaused", "reexecuted"]


class RunAction(BaseModel):
    """What a run control did."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    action: RunActionKind
    status: str
    tenant: str | None = None
    new_run_id: str | None = None
    message: str


def run_pause(run: DagsterRun) -> bool:
    """True when the run is marked paused (its next step holds)."""
    return run.tags.get(PAUSED_TAG) == "true"


class RunControls:
    """Cancel, pause and resume runs of the platform's Dagster instance.

    Args:
        instance: the Dagster instance (its coordinator and launcher do the work).
        engine: the platform database (audit log).
        tenant: restrict every action to this tenant's runs (tenant-scoped callers); None for operators.
        actor: who acts (default: ``ERP_ACTOR`` or the OS user).
        workspace_file: the ``workspace.yaml`` used to re-execute runs (default: ``erp dev``'s).
    """

    def __init__(self, instance: DagsterInstance, engine: Engine, *, tenant: str | None = None,
                 actor: str | None = None, workspace_file: Path | None = None) -> None:
        self._instance = instance
        self._engine = engine
        self._tenant = tenant
        self._actor = actor or current_actor()
        self._workspace_file = workspace_file

    # -- actions ---------------------------------------------------------------------------------------
    def cancel(self, run_id: str, *, reason: str = "", force: bool = False) -> RunAction:
        """Cancel a queued run or terminate a running one.

        ``force`` marks a run whose worker cannot be signalled (``erp dev`` stopped, worker gone) as
        cancelled anyway.
        """
        run = self._run(run_id)
        if run.is_finished:
            raise ConflictError(
                f"run {run_id} already finished ({run.status.value}); there is nothing to cancel"
            )
        why = f" ({reason})" if reason else ""
        self._instance.report_engine_event(f"Cancel requested by {self._actor}{why}.", run)
        was_queued = run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)
        if run.status == DagsterRunStatus.NOT_STARTED:
            self._instance.report_run_canceled(run, message=f"Canceled by {self._actor}{why}.")
            signalled = True
        else:
            signalled = self._instance.run_coordinator.cancel_run(run_id)
        if not signalled and not was_queued:
            current = self._run(run_id)
            if not current.is_finished:
                if not force:
                    raise ErpPlatformError(
                        f"the worker of run {run_id} could not be signalled (is `erp dev` running?); retry, "
                        "or mark the run cancelled without stopping its worker: "
                        f"`erp ops run cancel {run_id} --force`"
                    )
                self._instance.report_run_canceled(current, message=f"Force-canceled by {self._actor}{why}.")
        action: RunActionKind = "cancelled" if was_queued or force else "cancel_requested"
        done = "cancelled" if was_queued or force else "is cancelling"
        result = self._result(run_id, action, f"run {run_id} {done}")
        self._audit("run.cancel", run, {"reason": reason, "force": force, "was": run.status.value})
        return result

    def pause(self, run_id: str, *, reason: str = "") -> RunAction:
        """Mark a queued or running run paused: its next step holds until the run is resumed."""
        run = self._run(run_id)
        if run.status not in _LIVE:
            raise ConflictError(
                f"run {run_id} is {run.status.value}: only queued or running runs can be paused"
            )
        if run_pause(run):
            raise ConflictError(
                f"run {run_id} is already paused; resume it with `erp ops run resume {run_id}`"
            )
        self._instance.add_run_tags(run_id, {PAUSED_TAG: "true"})
        why = f": {reason}" if reason else ""
        self._instance.report_engine_event(
            f"Run paused by {self._actor}{why}; its next step waits until `erp ops run resume {run_id}`.", run
        )
        self._audit("run.pause", run, {"reason": reason})
        return self._result(run_id, "paused", f"run {run_id} paused: its next step holds")

    def resume(self, run_id: str) -> RunAction:
        """Unmark a paused live run, or re-execute a failed or cancelled run from failure."""
        run = self._run(run_id)
        if run.status in _LIVE:
            if not run_pause(run):
                raise ConflictError(
                    f"run {run_id} is {run.status.value} and not paused; there is nothing to resume"
                )
            self._instance.add_run_tags(run_id, {PAUSED_TAG: "false"})
            self._instance.report_engine_event(f"Run resumed by {self._actor}.", run)
            self._audit("run.resume", run, {"action": "unpaused"})
            return self._result(run_id, "unpaused", f"run {run_id} resumed: its steps continue")
        if run.status not in _RESUMABLE:
            raise ConflictError(
                f"run {run_id} is {run.status.value}: only paused, failed or cancelled runs can be resumed"
            )
        new_run = self._reexecute(run)
        self._instance.report_engine_event(
            f"Resumed by {self._actor}: re-executed from failure as run {new_run.run_id}.", run
        )
        self._audit("run.resume", run, {"action": "reexecuted", "new_run_id": new_run.run_id})
        return RunAction(run_id=run_id, action="reexecuted", status=new_run.status.value,
                         tenant=run.tags.get(TENANT_TAG), new_run_id=new_run.run_id,
                         message=f"run {run_id} re-executed from failure as {new_run.run_id}")

    # -- internals -------------------------------------------------------------------------------------
    def _run(self, run_id: str) -> DagsterRun:
        run = self._instance.get_run_by_id(run_id)
        if run is None or (self._tenant is not None and run.tags.get(TENANT_TAG) != self._tenant):
            if run is not None:
                raise TenantIsolationError(
                    f"run {run_id} belongs to another tenant: tenant {self._tenant!r} can only control its "
                    "own runs"
                )
            raise NotFoundError(f"run {run_id} does not exist in this Dagster instance; check the run id")
        return run

    def _result(self, run_id: str, action: RunActionKind, message: str) -> RunAction:
        run = self._run(run_id)
        return RunAction(run_id=run_id, action=action, status=run.status.value,
                         tenant=run.tags.get(TENANT_TAG), message=message)

    def _audit(self, action: str, run: DagsterRun, details: dict[str, object]) -> None:
        with self._engine.begin() as conn:
            record_audit(conn, action=action, target_type="run", target_id=run.run_id,
                         tenant_slug=run.tags.get(TENANT_TAG), actor=self._actor,
                         details={"job": run.job_name, **details})

    def _reexecute(self, run: DagsterRun) -> DagsterRun:
        from dagster._core.definitions.selector import JobSubsetSelector
        from dagster._core.errors import DagsterInvalidSubsetError
        from dagster._core.execution.plan.resume_retry import ReexecutionStrategy
        from dagster._core.workspace.context import WorkspaceProcessContext

        origin = run.remote_job_origin
        if origin is None:
            raise ConflictError(f"run {run.run_id} has no code location origin; it cannot be re-executed")
        workspace_file = self._workspace_file or Path(self._instance.root_directory) / "workspace.yaml"
        if not workspace_file.exists():
            raise ConflictError(
                f"no workspace file at {workspace_file}: start the platform with `erp dev` to re-execute runs"
            )
        location_name = origin.repository_origin.code_location_origin.location_name
        with WorkspaceProcessContext(self._instance, _location_target(workspace_file, location_name)) as ctx:
            workspace = ctx.create_request_context()
            location = workspace.get_code_location(location_name)
            remote_job = location.get_job(JobSubsetSelector(
                location_name=location_name,
                repository_name=origin.repository_origin.repository_name,
                job_name=run.job_name,
                op_selection=run.op_selection,
                asset_selection=None if run.asset_selection is None else list(run.asset_selection),
                asset_check_selection=(None if run.asset_check_selection is None
                                       else list(run.asset_check_selection)),
            ))
            inherited = {k: v for k, v in run.tags.items()
                         if not k.startswith("dagster/") and k not in _NOT_INHERITED}
            try:
                new_run = self._instance.create_reexecuted_run(
                    request_context=workspace, parent_run=run, code_location=location, remote_job=remote_job,
                    strategy=ReexecutionStrategy.FROM_FAILURE, extra_tags=inherited, use_parent_run_tags=False,
                )
            except DagsterInvalidSubsetError as exc:  # every step succeeded before the run itself failed
                workflow = run.tags.get(WORKFLOW_TAG, run.job_name)
                raise ConflictError(
                    f"run {run.run_id} ended {run.status.value} after all its steps had succeeded, so there is "
                    f"nothing to re-execute; start a new run with `erp run {run.tags.get(TENANT_TAG)} {workflow}`"
                ) from exc
            submitted = self._instance.submit_run(new_run.run_id, workspace)
        refused = refusal_of(self._instance, submitted.run_id)
        if refused is not None:
            raise refused
        return submitted


def _location_target(workspace_file: Path, location_name: str) -> Any:
    """Load only the run's code location: its gRPC server when the workspace names one, else the file."""
    from dagster._core.workspace.load_target import GrpcServerTarget, WorkspaceFileTarget

    entries = (yaml.safe_load(workspace_file.read_text()) or {}).get("load_from") or []
    for entry in entries:
        server = entry.get("grpc_server") if isinstance(entry, dict) else None
        if isinstance(server, dict) and server.get("location_name") == location_name:
            return GrpcServerTarget(host=server.get("host", "localhost"), port=server.get("port"),
                                    socket=server.get("socket"), location_name=location_name)
    return WorkspaceFileTarget(paths=[str(workspace_file)])
