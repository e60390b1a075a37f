"""A tenant's Dagster Definitions, built from its ACTIVE artifacts only (see ``code_locations.tenants``):
the compiled workflows, one resource per ACTIVE SDK version, and the tenant's hand-written code."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from erp_platform.orchestration._artifacts import tenant_artifacts
from erp_platform.orchestration._compile import compile_workflow
from erp_platform.orchestration._io_manager import ErpIOManager
from erp_platform.orchestration._process import process_platform
from erp_platform.orchestration._resources import active_sdks
from erp_platform.orchestration._tenant_code import load_tenant_code


def build_tenant_definitions(slug: str) -> dg.Definitions:
    """Compile every ACTIVE workflow of ``slug`` (sorted by workflow id, hash-verified) into one location,
    with its SDK resources and its hand-written code (``$ERP_HOME/code/<slug>/*.py``)."""
    plat = process_platform()
    tenant = plat.tenants.get(slug)
    assets: list[dg.AssetsDefinition] = []
    jobs: list[dg.JobDefinition | UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    sensors: list[dg.SensorDefinition] = []
    sdks = active_sdks(plat.engine, tenant)
    keys = {(s.resource.sdk_name, s.resource.sdk_version): s.key for s in sdks}
    for inputs in tenant_artifacts(plat.engine, tenant):
        compiled = compile_workflow(inputs, keys)
        assets += compiled.assets
        jobs += compiled.jobs
        schedules += compiled.schedules
        sensors += compiled.sensors
    code = load_tenant_code(plat.settings.resolved_home, slug)
    resources: dict[str, Any] = {"io_manager": ErpIOManager(tenant=slug)}
    resources.update({sdk.key: sdk.resource for sdk in sdks})
    return dg.Definitions(
        assets=assets + code.assets,
        jobs=jobs + code.jobs,
        schedules=schedules + code.schedules,
        sensors=sensors + code.sensors,
        resources=resources,
    )
