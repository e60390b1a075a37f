"""``erp run TENANT WORKFLOW [--wait]`` and ``erp run resume RUN_ID``: runs through Dagster's run queue."""

from __future__ import annotations

import typer

from erp_platform.cli._app import app
from erp_platform.cli._output import console, platform, print_json


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
    from erp_platform.orchestration._launch import launch_workflow_run, run_failure_message, wait_for_run
    from erp_platform.queue import RunControls, open_instance

    with platform() as plat, open_instance(plat) as instance:
        if tenant == "resume":
            action = RunControls(instance, plat.engine).resume(workflow)
            run_id = action.new_run_id or action.run_id
            message = action.message
        else:
            run_id = launch_workflow_run(instance, tenant, workflow)
            message = f"run {run_id} of {tenant}/{workflow} queued"
        result: dict[str, object] = {"run_id": run_id, "message": message}
        if wait:
            status = wait_for_run(instance, run_id, timeout=timeout)
            result["status"] = status.value
            if status.value != "SUCCESS":
                result["failure"] = run_failure_message(instance, run_id)
    if as_json:
        print_json(result)
    else:
        console.print(message)
        if wait:
            console.print(f"run {run_id} finished: {result['status']}")
            if "failure" in result:
                console.print(f"[red]{result['failure']}[/red]")
    if wait and result.get("status") != "SUCCESS":
        raise typer.Exit(1)

