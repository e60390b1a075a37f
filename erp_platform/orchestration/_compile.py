"""Compile one ACTIVE workflow into Dagster assets, asset checks, a job, schedules and sensors.

Each activity is an asset keyed ``[tenant, workflow, activity]``; dependencies come from the steps'
``depends_on``. The build is deterministic: the same registry content gives the same graph in every
process (code servers and run workers rebuild it independently).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from erp_platform.orchestration._activities import (
    StepRuntime,
    extract_checks,
    run_extract,
    run_load,
    run_transform,
    user_code_boundary,
)
from erp_platform.orchestration._artifacts import CompiledInputs
from erp_platform.orchestration._dagster_home import tenant_cap_tag_key, tenant_tag_key
from erp_platform.orchestration._guard import StepGuard, StepIdentity
from erp_platform.orchestration._resources import ErpSdkResource
from erp_platform.tenancy import TIER_POLICIES, Tier
from erp_platform.workflows import (
    ExtractActivity,
    InvalidDefinitionError,
    LoadActivity,
    RetryPolicy,
    ScheduleTrigger,
    SensorTrigger,
    TransformActivity,
    analyse_steps,
    main_input,
)

KIND_BY_TYPE = {"extract": "wasm", "transform": "polars", "load": "postgres"}


@dataclass
class CompiledWorkflow:
    assets: list[dg.AssetsDefinition] = field(default_factory=list)
    jobs: list[UnresolvedAssetJobDefinition] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)


def asset_key(tenant: str, workflow: str, activity: str) -> dg.AssetKey:
    """``[tenant, workflow, <tenant>__activity]``: the last part names the tenant too, because Dagster's
    global lineage labels each asset by its last part (``acme__customers`` beside ``globex__customers``)."""
    return dg.AssetKey([tenant, workflow, f"{tenant}__{activity}"])


def run_tags(inputs: CompiledInputs) -> dict[str, str]:
    """Tags every run of this workflow carries (queue fairness keys, artifact identity)."""
    tenant, record = inputs.tenant, inputs.record
    default_cap = TIER_POLICIES[Tier.parse(tenant.tier)].quotas.max_concurrent_jobs
    cap = tenant.quotas["max_concurrent_jobs"]
    cap_key = tenant_tag_key(tenant.tier) if cap == default_cap else tenant_cap_tag_key(cap)
    return {
        "erp/tenant": tenant.slug,
        "erp/tier": tenant.tier,
        cap_key: tenant.slug,
        "erp/workflow": record.workflow_id,
        "erp/workflow_version": str(record.version),
        "erp/workflow_hash": record.content_hash,
        "erp/sdks": ",".join(
            f"{s.name}@{s.version}" for s in sorted(inputs.sdks.values(), key=lambda s: s.name)
        ),
    }


def _retry(policy: RetryPolicy | None, default: RetryPolicy) -> dg.RetryPolicy | None:
    chosen = policy or default
    if chosen.max_attempts <= 1:
        return None
    return dg.RetryPolicy(
        max_retries=chosen.max_attempts - 1,
        delay=chosen.initial_interval_seconds,
        backoff=dg.Backoff.EXPONENTIAL if chosen.backoff_coefficient > 1 else dg.Backoff.LINEAR,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def compile_workflow(
    inputs: CompiledInputs, resource_keys: Mapping[tuple[str, int], str] | None = None
) -> CompiledWorkflow:
    """Assets, job, schedules and sensors of one workflow.

    Args:
        resource_keys: the resource key of each ``(sdk, version)`` in the code location (default: the name).
    """
    tenant, record, definition = inputs.tenant, inputs.record, inputs.definition
    graph, _ = analyse_steps(definition)
    by_id = {a.id: a for a in definition.activities}
    sdk_refs = tuple(sorted((s.name, s.version) for s in inputs.sdks.values()))
    out = CompiledWorkflow()
    for activity_id in graph.order:
        activity = by_id[activity_id]
        identity = StepIdentity(
            tenant=tenant.slug,
            workflow=record.workflow_id,
            version=record.version,
            content_hash=record.content_hash,
            activity=activity_id,
            sdks=sdk_refs,
        )
        upstream = graph.upstream.get(activity_id, ())
        out.assets.append(_activity_asset(inputs, activity, identity, upstream, resource_keys or {}))
    keys = [a.key for a in out.assets]
    has_parallel = any(s.parallel_group for s in graph.steps)
    executor = (
        dg.multiprocess_executor.configured({"max_concurrent": 4, "start_method": {"forkserver": {}}})
        if has_parallel
        else dg.in_process_executor
    )
    job = dg.define_asset_job(
        name=record.workflow_id,
        selection=dg.AssetSelection.assets(*keys),
        tags=run_tags(inputs) | {"dagster/max_runtime": str(_max_runtime(definition))},
        description=f"{definition.description or record.workflow_id} (version {record.version})",
        executor_def=executor,
    )
    out.jobs.append(job)
    from erp_platform.orchestration._sensors import erp_change_sensor, upstream_freshness_sensor

    for i, trigger in enumerate(definition.triggers):
        if isinstance(trigger, ScheduleTrigger):
            out.schedules.append(
                dg.ScheduleDefinition(
                    name=f"{record.workflow_id}__schedule_{i}",
                    cron_schedule=trigger.cron,
                    job=job,
                    execution_timezone=trigger.timezone,
                    default_status=dg.DefaultScheduleStatus.RUNNING,
                    description=f"cron {trigger.cron} ({trigger.timezone})",
                )
            )
        elif isinstance(trigger, SensorTrigger) and trigger.kind == "erp_change":
            out.sensors.append(erp_change_sensor(inputs, trigger, i, job))
        elif isinstance(trigger, SensorTrigger):
            out.sensors.append(upstream_freshness_sensor(inputs, trigger, i, job))
    return out


def _max_runtime(definition: Any) -> int:
    return int(sum(a.start_to_close_timeout_seconds for a in definition.activities))


def _activity_asset(
    inputs: CompiledInputs,
    activity: Any,
    identity: StepIdentity,
    upstream: tuple[str, ...],
    resource_keys: Mapping[tuple[str, int], str],
) -> dg.AssetsDefinition:
    tenant, record, definition = inputs.tenant, inputs.record, inputs.definition
    key = asset_key(tenant.slug, record.workflow_id, activity.id)
    common: dict[str, Any] = {
        "key": key,
        "group_name": f"{tenant.slug}__{record.workflow_id}",  # group names, like labels, name the tenant
        "description": activity.description or f"{activity.type} activity {activity.id!r}",
        "kinds": {KIND_BY_TYPE[activity.type]},
        "metadata": {
            "erp/workflow_version": record.version,
            "erp/workflow_hash": record.content_hash,
            "erp/activity_type": activity.type,
        },
        "retry_policy": _retry(activity.retry_policy, definition.retry_policy),
        "tags": {"erp/activity_type": activity.type},
    }
    if isinstance(activity, ExtractActivity):
        sdk = inputs.sdks[activity.config.sdk]
        resource = resource_keys.get((sdk.name, sdk.version), sdk.name)
        return _extract_asset(inputs, activity, identity, common, resource)
    ins = {f"in_{u}": dg.AssetIn(key=asset_key(tenant.slug, record.workflow_id, u)) for u in upstream}
    if isinstance(activity, TransformActivity):
        return _transform_asset(inputs, activity, identity, common, ins)
    return _load_asset(inputs, activity, identity, common, ins)


def _runtime(
    context: dg.AssetExecutionContext, inputs: CompiledInputs, identity: StepIdentity, timeout: int
) -> StepRuntime:
    StepGuard(identity, context.log).check(dict(context.run.tags))
    from erp_platform.orchestration._process import process_platform

    tenant = process_platform().tenants.get(inputs.tenant.slug)
    return StepRuntime(context=context, identity=identity, tenant=tenant, timeout_seconds=timeout)


def _extract_asset(
    inputs: CompiledInputs,
    activity: ExtractActivity,
    identity: StepIdentity,
    common: dict[str, Any],
    resource: str,
) -> dg.AssetsDefinition:
    sdk = inputs.sdks[activity.config.sdk]
    op = sdk.operation(activity.config.operation)
    keys = tuple(op.get("primary_key") or ()) or sdk.entity_keys(op.get("entity"))
    checks = [
        dg.AssetCheckSpec(
            "record_count", asset=common["key"], description="rows stored equal records fetched"
        )
    ]
    if keys:
        checks.append(
            dg.AssetCheckSpec(
                "keys", asset=common["key"], description=f"entity keys ({', '.join(keys)}) present and unique"
            )
        )
    meta = {**common.pop("metadata"), "erp/sdk": f"{sdk.name}@{sdk.version}", "erp/operation": op["id"]}

    @dg.asset(**common, metadata=meta, check_specs=checks, pool=f"erp_{inputs.tenant.slug}__{sdk.name}",
              required_resource_keys={resource})
    def _extract(context: dg.AssetExecutionContext) -> Iterator[Any]:
        step = _runtime(context, inputs, identity, activity.start_to_close_timeout_seconds)
        erp: ErpSdkResource = getattr(context.resources, resource)
        with user_code_boundary(step):
            frame, metadata = run_extract(
                step, activity, sdk, lambda: erp.open_session(run_id=step.run_id, workflow=identity.workflow),
                resource_fields=erp.declared_fields(),
            )
            results = extract_checks(frame, int(metadata["erp/records"]), keys)
        yield dg.Output(frame, metadata=metadata)
        yield from results

    return _extract


def _transform_asset(
    inputs: CompiledInputs,
    activity: TransformActivity,
    identity: StepIdentity,
    common: dict[str, Any],
    ins: dict[str, dg.AssetIn],
) -> dg.AssetsDefinition:
    graph, _ = analyse_steps(inputs.definition)
    main = main_input(activity, graph)

    @dg.asset(**common, ins=ins)
    def _transform(context: dg.AssetExecutionContext, **frames: pl.LazyFrame) -> pl.LazyFrame:
        step = _runtime(context, inputs, identity, activity.start_to_close_timeout_seconds)
        named = {name.removeprefix("in_"): frame for name, frame in frames.items()}
        with user_code_boundary(step):
            assert main is not None
            return run_transform(step, activity, named, main).collect().lazy()

    return _transform


def _load_asset(
    inputs: CompiledInputs,
    activity: LoadActivity,
    identity: StepIdentity,
    common: dict[str, Any],
    ins: dict[str, dg.AssetIn],
) -> dg.AssetsDefinition:
    graph, _ = analyse_steps(inputs.definition)
    main = main_input(activity, graph)
    plan = inputs.plans.get(activity.id)
    tenant, workflow = inputs.tenant.slug, inputs.record.workflow_id
    extracts = _upstream_extracts(inputs, activity.id, graph)
    checks = [
        dg.AssetCheckSpec("row_count", asset=common["key"], description="table holds every loaded key"),
        dg.AssetCheckSpec("business_key", asset=common["key"], description="business keys unique, not null"),
    ]
    meta = {
        **common.pop("metadata"),
        "erp/table": f"tenant_{tenant}.{activity.config.table}",
        "erp/business_key": ", ".join(plan.business_key) if plan else "-",
        "erp/mapping": plan.mapping_origin if plan else "-",
    }

    @dg.asset(**common, ins=ins, metadata=meta, check_specs=checks)
    def _load(context: dg.AssetExecutionContext, **frames: pl.LazyFrame) -> dg.MaterializeResult:  # type: ignore[type-arg]
        step = _runtime(context, inputs, identity, activity.start_to_close_timeout_seconds)
        assert main is not None
        frame = frames[f"in_{main}"]
        with user_code_boundary(step):
            if plan is None:
                raise InvalidDefinitionError(
                    f"load {activity.id!r} cannot be resolved against the SDK versions this workflow uses",
                    list(inputs.problems),
                )
            metadata, results = run_load(
                step, activity, frame, plan, [(asset_key(tenant, workflow, e), e) for e in extracts]
            )
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    return _load


def _upstream_extracts(inputs: CompiledInputs, activity_id: str, graph: Any) -> list[str]:
    """Incremental extract activities this load (transitively) reads from."""
    by_id = {a.id: a for a in inputs.definition.activities}
    seen: set[str] = set()
    stack = list(graph.upstream.get(activity_id, ()))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(graph.upstream.get(current, ()))
    extracts = [a for a in (by_id.get(i) for i in seen) if isinstance(a, ExtractActivity)]
    return sorted(a.id for a in extracts if a.config.incremental)
