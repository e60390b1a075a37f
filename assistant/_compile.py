"""Compile a draft to Dagster definitions in-process, exactly as the tenant's code location will.

Nothing is registered or started: the assets, checks, job, schedules and sensors are built by the
platform's own compiler and resolved by Dagster (so a graph Dagster would refuse is refused here), then
summarised for people and for the model.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from erp_platform.orchestration._artifacts import CompiledInputs, workflow_inputs
from erp_platform.orchestration._compile import compile_workflow
from erp_platform.orchestration._io_manager import ErpIOManager
from erp_platform.orchestration._resources import artifact_resource
from erp_platform.tenancy import TenantInfo
from erp_platform.workflows import (
    WorkflowDefinition,
    WorkflowRecord,
    content_hash,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetNode(_Frozen):
    key: str
    activity: str
    kind: str
    deps: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


class ScheduleView(_Frozen):
    name: str
    cron: str
    timezone: str


class SensorView(_Frozen):
    name: str
    interval_seconds: int
    description: str = ""


class CompiledDraft(_Frozen):
    """What the draft becomes in Dagster: its asset graph, job, schedules and sensors."""

    assets: tuple[AssetNode, ...]
    job: str
    schedules: tuple[ScheduleView, ...] = ()
    sensors: tuple[SensorView, ...] = ()


def draft_inputs(engine: Engine, tenant: TenantInfo, definition: WorkflowDefinition, version: int) -> CompiledInputs:
    """The compiler's inputs for a draft that would be ``version`` (SDKs and load plans resolved like a run's)."""
    record = WorkflowRecord(id=0, tenant=tenant.slug, workflow_id=definition.id, version=version,
                            content_hash=content_hash(definition), status="DRAFT", created_by="assistant",
                            created_at=datetime.now(UTC))
    return workflow_inputs(engine, tenant, record, definition)


def compile_draft(inputs: CompiledInputs) -> CompiledDraft:
    """Compile with the platform's compiler and resolve the result with Dagster.

    Raises:
        dagster errors (DagsterInvalidDefinitionError, ...): Dagster refuses the graph.
    """
    compiled = compile_workflow(inputs)
    resources: dict[str, object] = {"io_manager": ErpIOManager(tenant=inputs.tenant.slug)}
    resources.update({name: artifact_resource(inputs.tenant.slug, sdk) for name, sdk in inputs.sdks.items()})
    defs = dg.Definitions(assets=compiled.assets, jobs=compiled.jobs, schedules=compiled.schedules,
                          sensors=compiled.sensors, resources=resources)
    repo = defs.get_repository_def()
    repo.get_job(inputs.record.workflow_id)  # resolves the asset job: fails like the code location would
    nodes: list[AssetNode] = []
    for asset in compiled.assets:
        key = asset.key
        nodes.append(AssetNode(
            key="/".join(key.path),
            activity=key.path[-1].removeprefix(f"{inputs.tenant.slug}__"),
            kind=",".join(sorted(next(iter(asset.specs)).kinds)),
            deps=tuple(sorted("/".join(d.path) for d in asset.dependency_keys if d != key)),
            checks=tuple(sorted(c.name for c in asset.check_specs)),
        ))
    schedules = tuple(ScheduleView(name=s.name, cron=str(s.cron_schedule), timezone=s.execution_timezone or "UTC")
                      for s in compiled.schedules)
    sensors = tuple(SensorView(name=s.name, interval_seconds=int(s.minimum_interval_seconds or 30),
                               description=s.description or "") for s in compiled.sensors)
    return CompiledDraft(assets=tuple(nodes), job=inputs.record.workflow_id, schedules=schedules, sensors=sensors)
