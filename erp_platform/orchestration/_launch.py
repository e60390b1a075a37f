"""Submitting workflow runs through Dagster's run queue (the same GraphQL path the UI uses), in-process.

The workspace is just the tenant's own code location (its gRPC code server started by ``erp dev``, found in
the instance's ``workspace.yaml``: a Unix socket, or a TCP host and port in stock mode), so launching a run
costs one location load, not one per tenant.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus
from sqlalchemy import Engine

from erp_platform._errors import ConflictError, ErpPlatformError, NotFoundError
from erp_platform.db import validate_slug
from erp_platform.orchestration._workspace import location_name, workspace_target

_LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


class RunLaunchError(ErpPlatformError):
    """Dagster refused to create or queue the run; the message says why (admission, missing job...)."""


class LocationNotReady(ConflictError):
    """The tenant's code location does not serve the workflow (yet): no code server, or not reloaded."""

    transient = True


def require_active_workflow(engine: Engine, tenant: str, workflow: str) -> None:
    """Refuse, saying what exists instead, unless ``tenant`` exists and has an ACTIVE ``workflow``.

    Raises:
        NotFoundError: no such tenant, no such workflow, or no ACTIVE version of it.
    """
    from erp_platform.tenancy import TenantService
    from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

    TenantService(engine).get(tenant)
    records = WorkflowRegistry(engine, registry_catalog_factory(engine)).list(tenant)
    mine = [r for r in records if r.workflow_id == workflow]
    if not mine:
        names = sorted({r.workflow_id for r in records})
        close = difflib.get_close_matches(workflow, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = f"its workflows: {', '.join(names)}" if names else "it has no workflows yet"
        raise NotFoundError(
            f"tenant {tenant!r} has no workflow {workflow!r}{hint}; {known}; see `erp workflow list {tenant}`"
        )
    if not any(r.status == "ACTIVE" for r in mine):
        versions = ", ".join(f"v{r.version} {r.status}" for r in mine)
        newest = max(r.version for r in mine)
        raise NotFoundError(
            f"workflow {workflow!r} of tenant {tenant!r} has no ACTIVE version ({versions}); activate one with "
            f"`erp workflow activate {tenant} {workflow} {newest}`"
        )


@contextmanager
def tenant_workspace(instance: DagsterInstance, tenant: str) -> Iterator[Any]:
    """A workspace holding only ``tenant``'s code location (served by its code server).

    The code server is the one ``erp dev`` lists in ``workspace.yaml`` under the instance's DAGSTER_HOME.
    """
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import GrpcServerTarget

    validate_slug(tenant)
    workspace = Path(instance.root_directory) / "workspace.yaml"
    found = workspace_target(workspace, tenant)
    if found is None:
        raise LocationNotReady(
            f"tenant {tenant!r} has no code server in {workspace}: start the platform with `erp dev` "
            "(or wait a few seconds for it to pick up the new tenant)"
        )
    if found.socket is not None and not Path(found.socket).exists():
        raise LocationNotReady(
            f"tenant {tenant!r} has no running code server ({found.socket} is missing): start the platform "
            "with `erp dev` (or wait for it to pick up the new tenant)"
        )
    target = GrpcServerTarget(
        host=found.host, port=found.port, socket=found.socket, location_name=location_name(tenant)
    )
    with WorkspaceProcessContext(instance, target) as ctx:
        yield ctx


def launch_workflow_run(
    instance: DagsterInstance,
    tenant: str,
    workflow: str,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Create and submit a run of ``workflow``'s job in ``tenant``'s code location; returns the run id."""
    from dagster_graphql.cli import execute_query

    params = {
        "selector": {
            "repositoryLocationName": location_name(tenant),
            "repositoryName": "__repository__",
            "jobName": workflow,
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in sorted((tags or {}).items())]},
        "runConfigData": {},
    }
    with tenant_workspace(instance, tenant) as ctx:
        result = execute_query(ctx, _LAUNCH, {"params": params})
    if result.get("errors"):
        raise RunLaunchError(f"run of {tenant}/{workflow} not launched: {result['errors'][0].get('message')}")
    payload = result["data"]["launchRun"]
    kind = payload["__typename"]
    if kind == "LaunchRunSuccess":
        from erp_platform.queue import refusal_of

        run_id = str(payload["run"]["runId"])
        refused = refusal_of(instance, run_id)
        if refused is not None:
            raise RunLaunchError(f"run {run_id} of {tenant}/{workflow} was refused: {refused.message}")
        return run_id
    if kind == "PipelineNotFoundError":
        raise LocationNotReady(
            f"tenant {tenant!r} has no ACTIVE workflow {workflow!r} in its code location; activate it with "
            "`erp workflow activate` (the code location reloads within seconds)"
        )
    message = payload.get("message") or "; ".join(e["message"] for e in payload.get("errors", []))
    raise RunLaunchError(f"run of {tenant}/{workflow} was refused: {message}")


def wait_for_run(
    instance: DagsterInstance, run_id: str, *, timeout: float = 3600, poll: float = 0.25
) -> DagsterRunStatus:
    """Wait until the run finishes; returns its final status."""
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if run.status in FINISHED:
            return run.status
        status = run.status.value
        time.sleep(poll)
    raise ErpPlatformError(f"run {run_id} did not finish within {timeout:.0f} s (still {status})")


def run_failure_message(instance: DagsterInstance, run_id: str) -> str:
    """The first step failure (or run failure) message of a run, for people."""
    from dagster import DagsterEventType

    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        if (
            event.event_type
            in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT)
            and event.event_specific_data is not None
        ):
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                return f"{event.step_key or 'run'}: {_user_error(error)}"
        if event.event_type == DagsterEventType.RUN_FAILURE and record.user_message:
            return record.user_message
    return "no failure recorded"


def _user_error(error: Any) -> str:
    """The error's message; for an exception raised by user code (which Dagster wraps in
    DagsterExecutionStepExecutionError) the original exception's, without its module path."""
    if error.cls_name != "DagsterExecutionStepExecutionError" or error.cause is None:
        return str(error.message).strip()
    root = error.cause
    while root.cause is not None:
        root = root.cause
    text = str(root.message).strip()
    head, sep, rest = text.partition(": ")
    return f"{root.cls_name}: {rest}" if sep and head.endswith(root.cls_name) else text
