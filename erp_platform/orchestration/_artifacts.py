"""What a tenant's code location is compiled from: its ACTIVE workflows, the SDK versions they use (with
their stored SdkSpec) and the plan of each load (its mapping: inline, stored or derived from the SDK's
fields; its business key: given or the SDK's primary key). Read once per build, in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from erp_platform._errors import NotFoundError, Problem
from erp_platform.registry import SdkVersion
from erp_platform.tenancy import TenantInfo
from erp_platform.workflows import (
    ExtractActivity,
    LoadPlan,
    MappingRegistry,
    WorkflowDefinition,
    WorkflowRecord,
    WorkflowRegistry,
    plan_loads,
    registry_catalog_factory,
    resolve_sdk_version,
)


@dataclass(frozen=True)
class SdkArtifact:
    """One SDK version a workflow runs with."""

    name: str
    version: int
    status: str
    wasm_hash: str | None
    spec: dict[str, Any]  # SdkSpec dump

    def operation(self, operation_id: str) -> dict[str, Any]:
        for op in self.spec.get("operations", []):
            if op.get("id") == operation_id:
                return dict(op)
        raise NotFoundError(f"SDK {self.name} v{self.version} has no operation {operation_id!r}")

    def entity_fields(self, entity: str | None) -> dict[str, str]:
        for ent in self.spec.get("entities", []):
            if ent.get("name") == entity:
                return {f["name"]: f["kind"] for f in ent.get("fields", [])}
        return {}

    def entity_keys(self, entity: str | None) -> tuple[str, ...]:
        for ent in self.spec.get("entities", []):
            if ent.get("name") == entity:
                return tuple(ent.get("keys", ()))
        return ()


@dataclass(frozen=True)
class CompiledInputs:
    """Everything one workflow needs at compile time."""

    tenant: TenantInfo
    record: WorkflowRecord
    definition: WorkflowDefinition
    sdks: dict[str, SdkArtifact]  # by SDK name
    plans: dict[str, LoadPlan]  # load activity id -> mapping and business key, resolved
    problems: tuple[Problem, ...] = ()  # why a load has no plan (its step fails with them)


def tenant_artifacts(engine: Engine, tenant: TenantInfo) -> list[CompiledInputs]:
    """The tenant's ACTIVE workflows (hash-verified) with their SDKs and load plans, by workflow id."""
    registry = WorkflowRegistry(engine, registry_catalog_factory(engine))
    return [workflow_inputs(engine, tenant, record, definition) for record, definition
            in registry.active_definitions(tenant.slug)]


def workflow_inputs(
    engine: Engine, tenant: TenantInfo, record: WorkflowRecord, definition: WorkflowDefinition
) -> CompiledInputs:
    """One workflow version's compiler inputs: the SDK versions its extracts use and the plan of each load,
    resolved against the tenant's registry as a run would resolve them (also for drafts not yet stored).

    Raises:
        NotFoundError: an extract names an SDK with no usable version.
    """
    catalog = registry_catalog_factory(engine)(tenant.slug)
    sdks: dict[str, SdkArtifact] = {}
    for activity in definition.activities:
        if isinstance(activity, ExtractActivity):
            name = activity.config.sdk
            if name in sdks:
                continue
            info = resolve_sdk_version(catalog, name, definition.compatibility.required_sdk_version)
            if info is None:
                raise NotFoundError(
                    f"workflow {definition.id!r} of tenant {tenant.slug!r} uses SDK {name!r}, which has no "
                    "usable version; build and activate one with `erp sdk build` / `erp sdk activate`"
                )
            sdks[name] = _load_sdk(engine, tenant, name, info.version)
    plans, problems = plan_loads(definition, catalog=catalog, mappings=MappingRegistry(engine).source(tenant.slug))
    return CompiledInputs(tenant, record, definition, sdks, plans, tuple(problems))


def _load_sdk(engine: Engine, tenant: TenantInfo, name: str, version: int) -> SdkArtifact:
    t = SdkVersion.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(t.c.name, t.c.version, t.c.status, t.c.wasm_hash, t.c.sdk_spec).where(
                t.c.tenant_id == tenant.id, t.c.name == name, t.c.version == version
            )
        ).first()
    if row is None:
        raise NotFoundError(f"SDK {name} v{version} of tenant {tenant.slug!r} does not exist")
    return SdkArtifact(
        name=row.name,
        version=row.version,
        status=row.status,
        wasm_hash=row.wasm_hash,
        spec=dict(row.sdk_spec or {}),
    )
