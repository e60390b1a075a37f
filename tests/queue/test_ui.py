"""A launch from the UI (the webserver's GraphQL ``launchPipelineExecution``, executed in-process against
the same workspace): a refused run is a run that failed to start whose event log holds the refusal's message
alone (no exception class name, no stack trace: what the run page shows)."""

from __future__ import annotations

from typing import Any

from dagster import DagsterRunStatus, RunsFilter
from dagster_graphql.client.query import LAUNCH_PIPELINE_EXECUTION_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql
from sqlalchemy import Engine

from erp_platform.controls import ControlFlags
from tests.queue.harness import STANDARD, QueueStack


def launch(queue: QueueStack) -> dict[str, Any]:
    assert queue.workspace is not None
    result = execute_dagster_graphql(
        queue.workspace.create_request_context(), LAUNCH_PIPELINE_EXECUTION_MUTATION,
        {"executionParams": {"selector": {"repositoryLocationName": f"tenant_{STANDARD}",
                                          "repositoryName": "__repository__", "pipelineName": "quick"},
                             "runConfigData": {}, "mode": "default"}},
    )
    assert result.errors is None
    data: dict[str, Any] = result.data["launchPipelineExecution"]
    return data


def test_a_refused_launch_shows_the_reason_and_a_run_that_failed_to_start(queue: QueueStack,
                                                                          engine: Engine) -> None:
    assert queue.instance is not None
    flag = ControlFlags(engine).set(scope="tenant", scope_id=STANDARD, flag_type="pause",
                                    reason="ERP upgrade until 18:00")
    before = {r.run_id for r in queue.instance.get_runs(RunsFilter(tags={"erp/tenant": STANDARD}))}
    reply = launch(queue)
    expected = (f"{flag.label} refuses new runs of tenant 'qa_std'; launch again once an operator clears it "
                f"(`erp ops flag clear {flag.id}`)")
    assert reply["__typename"] == "LaunchRunSuccess"  # the UI opens the run, which failed to start
    [run] = [r for r in queue.instance.get_runs(RunsFilter(tags={"erp/tenant": STANDARD}))
             if r.run_id not in before]
    assert run.run_id == reply["run"]["runId"]
    assert run.status == DagsterRunStatus.FAILURE
    assert run.tags["erp/refused"] == "flag_pause"
    events = [e for e in queue.instance.all_logs(run.run_id) if e.dagster_event is not None]
    assert [(e.dagster_event.event_type_value, e.dagster_event.message) for e in events
            if e.dagster_event.event_type_value in ("PIPELINE_FAILURE", "ENGINE_EVENT")] == [
        ("PIPELINE_FAILURE", expected)]
    assert not [e for e in events if getattr(e.dagster_event.event_specific_data, "error", None) is not None]

    ControlFlags(engine).clear(flag.id)
    reply = launch(queue)
    assert reply["__typename"] == "LaunchRunSuccess"
    tags = {t["key"]: t["value"] for t in reply["run"]["tags"]}
    assert (tags["erp/tenant"], tags["erp/tier"]) == (STANDARD, "standard")
    assert tags["erp/tenant_standard"] == STANDARD
    assert queue.wait(reply["run"]["runId"], (DagsterRunStatus.SUCCESS,)).status == DagsterRunStatus.SUCCESS
