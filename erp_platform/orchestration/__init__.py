"""Orchestration on Dagster: instance configuration, run coordinator and launcher, per-tenant code locations
with their SDK resources (:class:`ErpSdkResource`) and hand-written code (:func:`tenant_code_dir`)."""

from erp_platform.orchestration._coordinator import ErpRunCoordinator
from erp_platform.orchestration._dagster_home import (
    QueuePolicy,
    dagster_home,
    dagster_pg_url,
    dagster_yaml_text,
    forkserver_socket,
    prepare_dagster_home,
    render_dagster_yaml,
)
from erp_platform.orchestration._definitions import build_tenant_definitions
from erp_platform.orchestration._launch import (
    RunLaunchError,
    launch_workflow_run,
    run_failure_message,
    wait_for_run,
)
from erp_platform.orchestration._launcher import ErpRunLauncher
from erp_platform.orchestration._resources import ErpSdkResource
from erp_platform.orchestration._supervisor import DevStack, StackError
from erp_platform.orchestration._tenant_code import tenant_code_dir
from erp_platform.orchestration._workspace import render_workspace, tenant_locations, write_workspace

__all__ = [
    "DevStack",
    "ErpRunCoordinator",
    "ErpRunLauncher",
    "ErpSdkResource",
    "QueuePolicy",
    "RunLaunchError",
    "StackError",
    "build_tenant_definitions",
    "dagster_home",
    "dagster_pg_url",
    "dagster_yaml_text",
    "forkserver_socket",
    "launch_workflow_run",
    "prepare_dagster_home",
    "render_dagster_yaml",
    "render_workspace",
    "run_failure_message",
    "tenant_code_dir",
    "tenant_locations",
    "wait_for_run",
    "write_workspace",
]
