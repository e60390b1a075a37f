"""Workflow triggers that watch something: new ERP data (incremental cursor) or upstream freshness."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from erp_platform.orchestration._artifacts import CompiledInputs
from erp_platform.orchestration._checkpoints import committed_cursor
from erp_platform.orchestration._process import process_platform
from erp_platform.workflows import ExtractActivity, LoadActivity, SensorTrigger


def erp_change_sensor(
    inputs: CompiledInputs, trigger: SensorTrigger, index: int, job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """Polls the watched extract's operation for records changed since the committed cursor.

    It watches for changes after the workflow's first successful load: until a load has committed the
    extract's cursor there is nothing to compare with, so the sensor waits (saying so) instead of starting
    a full sync the moment the workflow is activated. The first sync is a run (``erp run``) or the schedule.
    """
    tenant, workflow = inputs.tenant.slug, inputs.record.workflow_id
    activity = next(a for a in inputs.definition.activities if a.id == trigger.activity)
    assert isinstance(activity, ExtractActivity)
    sdk = inputs.sdks[activity.config.sdk]
    name = f"{workflow}__erp_change_{index}"

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=trigger.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"new or changed records from {sdk.name}.{activity.config.operation}",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from erp_platform.sdks import SdkService

        plat = process_platform()
        info = plat.tenants.get(tenant)
        cursor = committed_cursor(plat.engine, info.id, workflow, activity.id)
        if cursor is None:
            return dg.SkipReason(
                f"waiting for the first successful sync of {workflow!r}: changes are watched from then on "
                f"(start it with `erp run {tenant} {workflow}` or wait for its schedule)"
            )
        params: dict[str, Any] = {**activity.config.params, "_page_size": 1, "_since": cursor}
        with SdkService.from_platform(plat).open_session(tenant, sdk.name, sdk.version) as session:
            page = session.call(activity.config.operation, params)
        if not page.records:
            return dg.SkipReason(f"no records changed since {cursor}")
        run_key = f"{activity.id}:{cursor}"
        if context.cursor == run_key:
            return dg.SkipReason(f"a run for changes since {cursor} was already requested")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, tags={"erp/trigger": name})], cursor=run_key
        )

    return _sensor


def upstream_freshness_sensor(
    inputs: CompiledInputs, trigger: SensorTrigger, index: int, job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """Runs this workflow when the tenant's upstream workflow has materialised its loads since last time."""
    tenant, workflow = inputs.tenant.slug, inputs.record.workflow_id
    upstream = trigger.upstream_workflow or ""
    name = f"{workflow}__upstream_freshness_{index}"

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=trigger.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"runs after workflow {upstream!r} of the same tenant materialises new data",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

        plat = process_platform()
        try:
            _, definition = WorkflowRegistry(plat.engine, registry_catalog_factory(plat.engine)).get(
                tenant, upstream
            )
        except Exception as exc:  # the upstream workflow may not exist (yet)
            return dg.SkipReason(f"upstream workflow {upstream!r} is not available: {exc}")
        from erp_platform.orchestration._compile import asset_key

        keys = [asset_key(tenant, upstream, a.id) for a in definition.activities if isinstance(a, LoadActivity)]
        latest = 0.0
        for key in keys:
            event = context.instance.get_latest_materialization_event(key)
            if event is not None:
                latest = max(latest, event.timestamp)
        if latest == 0.0:
            return dg.SkipReason(f"workflow {upstream!r} has not loaded anything yet")
        mark = f"{latest:.6f}"
        if context.cursor == mark:
            return dg.SkipReason(f"nothing new from {upstream!r} since its last load")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"{upstream}:{mark}", tags={"erp/trigger": name})],
            cursor=mark,
        )

    return _sensor
