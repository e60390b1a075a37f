"""``erp run TENANT WORKFLOW [--wait]`` and ``erp run resume RUN_ID``: runs through Dagster's run queue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import BaseModel, ConfigDict
from rich.text import Text

from erp_platform._errors import ConflictError
from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json

if TYPE_CHECKING:
    from dagster import DagsterInstance


@app.command("run", context_settings={"allow_interspersed_args": True})
def run(
    tenant: str = typer.Argument(..., help="tenant slug, or `resume` to re-execute a run from failure"),
    workflow: str = typer.Argument(..., help="workflow id (or, after `resume`, the run id)"),
    wait: bool = typer.Option(False, "--wait", help="wait until the run finishes; exit 1 if it failed"),
    timeout: float = typer.Option(3600.0, "--timeout", help="seconds to wait with --wait"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Submit a run of TENANT's ACTIVE workflow to the run queue (admission, tier limits apply).

    `erp run resume RUN_ID` re-executes a failed or cancelled run from the failed step (extracts continue
    from their checkpointed page; loads are idempotent merges).
    """
    from erp_platform.orchestration._launch import require_active_workflow, run_failure_message, wait_for_run
    from erp_platform.queue import RunControls, open_instance

    with platform() as plat:
        if tenant != "resume":
            require_active_workflow(plat.engine, tenant, workflow)
        _require_dev(plat.settings.resolved_home)
        with open_instance(plat) as instance:
            if tenant == "resume":
                action = RunControls(instance, plat.engine).resume(workflow)
                run_id = action.new_run_id or action.run_id
                message = action.message
            else:
                run_id = _launch(instance, tenant, workflow)
                message = f"run {run_id} of {tenant}/{workflow} queued"
            outcome = RunOutcome(run_id=run_id, message=message)
            if wait:
                status = wait_for_run(instance, run_id, timeout=timeout).value
                failure = run_failure_message(instance, run_id) if status != "SUCCESS" else None
                outcome = outcome.model_copy(update={"status": status, "failure": failure,
                                                     "loads": run_loads(instance, run_id)})
    if as_json:
        print_json(outcome.model_dump(exclude_none=True))
    else:
        console.print(message)
        if wait:
            console.print(f"run {run_id} finished: {outcome.status}")
            for load in outcome.loads:
                console.print(f"  {load.table}: {load.rows_in:,} rows in, {load.inserted:,} inserted, "
                              f"{load.updated:,} updated, {load.unchanged:,} unchanged")
            if outcome.failure:
                console.print(Text(outcome.failure, style="red"))
    if wait and outcome.status != "SUCCESS":
        raise typer.Exit(1)


class LoadResult(BaseModel):
    """What one load step of a run wrote (from its materialization metadata)."""

    model_config = ConfigDict(frozen=True)

    table: str
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class RunOutcome(BaseModel):
    """`erp run`'s result: the run, and with --wait its final status, failure and loads."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    message: str
    status: str | None = None
    failure: str | None = None
    loads: list[LoadResult] = []


def run_loads(instance: DagsterInstance, run_id: str) -> list[LoadResult]:
    """The loads of a run, by table."""
    from dagster import DagsterEventType

    loads: list[LoadResult] = []
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        event = record.event_log_entry.dagster_event
        materialization = event.step_materialization_data.materialization if event is not None else None
        meta = materialization.metadata if materialization is not None else {}
        if "erp/table" in meta and "erp/rows_in" in meta:
            counts = {key: meta[f"erp/{key}"].value for key in ("rows_in", "inserted", "updated", "unchanged")
                      if f"erp/{key}" in meta}
            loads.append(LoadResult.model_validate({"table": str(meta["erp/table"].value), **counts}))
    return sorted(loads, key=lambda load: load.table)


def _require_dev(home: Path) -> None:
    """Runs are executed by `erp dev`'s fork server and daemon: say so when it is not running."""
    from erp_platform.cli._processes import read_records

    if not any(r.name == "dev" for r in read_records(home)) and not (home / "run" / "forkserver.sock").exists():
        raise ConflictError(
            f"the platform is not running for ERP_HOME {home}: start `erp dev` in another terminal (it runs "
            "the queue, the code servers and the run workers), then run this again"
        )


def _launch(instance: DagsterInstance, tenant: str, workflow: str, wait: float = 60.0) -> str:
    """Launch, waiting up to ``wait`` seconds for `erp dev` to serve a code location that just changed."""
    from erp_platform.orchestration._launch import LocationNotReady, launch_workflow_run

    deadline = time.monotonic() + wait
    while True:
        try:
            return launch_workflow_run(instance, tenant, workflow)
        except LocationNotReady:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
