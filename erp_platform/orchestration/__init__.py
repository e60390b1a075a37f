"""Orchestration on Dagster: instance configuration, run coordinator and launcher, per-tenant code locations."""

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
from erp_platform.orchestration._launcher import ErpRunLauncher

__all__ = [
    "ErpRunCoordinator",
    "ErpRunLauncher",
    "QueuePolicy",
    "dagster_home",
    "dagster_pg_url",
    "dagster_yaml_text",
    "forkserver_socket",
    "prepare_dagster_home",
    "render_dagster_yaml",
]
