"""A tenant's Dagster Definitions, built from its ACTIVE artifacts only (see ``code_locations.tenants``)."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from erp_platform.orchestration._artifacts import tenant_artifacts
from erp_platform.orchestration._compile import compile_workflow
from erp_platform.orchestration._io_manager import ErpIOManager
from erp_platform.orchestration._process import process_platform


def build_tenant_definitions(slug: str) -> dg.Definitions:
    """Compile every ACTIVE workflow of ``slug`` (sorted by workflow id, hash-verified) into one location."""
    plat = process_platform()
    tenant = plat.tenants.get(slug)
    assets: list[dg.AssetsDefinition] = []
    jobs: list[UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    for inputs in tenant_artifacts(plat.engine, tenant):
        compiled = compile_workflow(inputs)
        assets += compiled.assets
        jobs += compiled.jobs
        schedules += compiled.schedules
        sensors += compiled.sensors
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={"io_manager": ErpIOManager(tenant=slug)},
    )
