"""The Dagster side of the queue: run counts from run storage, run requests, the instance of a process."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.dagster_run import DagsterRun

from erp_platform._platform import Platform
from erp_platform.orchestration._dagster_home import (
    FORKSERVER_ENV,
    PG_URL_ENV,
    dagster_home,
    dagster_pg_url,
    forkserver_socket,
)
from erp_platform.queue._admission import RunRequest
from erp_platform.queue._policy import TENANT_TAG, TIER_TAG

#: statuses of runs that hold a place in the queue or a run slot
ACTIVE_STATUSES = (
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)
IN_PROGRESS_STATUSES = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING)


def run_request(run: DagsterRun) -> RunRequest:
    """The admission view of a Dagster run (its code location comes from the run's origin)."""
    origin = run.remote_job_origin
    location = origin.repository_origin.code_location_origin.location_name if origin is not None else None
    return RunRequest(run_id=run.run_id, job_name=run.job_name, location=location, tags=dict(run.tags))


class InstanceRunCounter:
    """Counts runs in the instance's run storage (what Dagster's own queue sees)."""

    def __init__(self, instance: DagsterInstance) -> None:
        self._instance = instance

    def tenant_active_runs(self, tenant: str) -> int:
        flt = RunsFilter(statuses=list(ACTIVE_STATUSES), tags={TENANT_TAG: tenant})
        return self._instance.get_runs_count(flt)

    def tier_queued_runs(self, tier: str) -> int:
        flt = RunsFilter(statuses=[DagsterRunStatus.QUEUED], tags={TIER_TAG: tier})
        return self._instance.get_runs_count(flt)


def dagster_env(platform: Platform) -> dict[str, str]:
    """The environment Dagster processes of this platform use (DAGSTER_HOME and what dagster.yaml reads)."""
    settings = platform.settings
    return {
        "DAGSTER_HOME": str(dagster_home(settings)),
        PG_URL_ENV: dagster_pg_url(platform.database_url),
        FORKSERVER_ENV: str(forkserver_socket(settings)),
        "ERP_HOME": str(settings.resolved_home),
        "ERP_DATABASE_URL": platform.database_url,
    }


@contextmanager
def open_instance(platform: Platform, env: Mapping[str, str] | None = None) -> Iterator[DagsterInstance]:
    """The platform's Dagster instance, opened in this process (``erp ops``, ``erp health``, ``erp dev``).

    ``dagster.yaml`` is written with the registry's current policy when it does not exist yet (``erp dev``
    keeps it up to date). The variables it reads are set in this process's environment.
    """
    from erp_platform.orchestration._dagster_home import prepare_dagster_home
    from erp_platform.queue._policy import queue_policy

    values = dict(env) if env is not None else dagster_env(platform)
    home = dagster_home(platform.settings)
    if not (home / "dagster.yaml").exists():
        policy = queue_policy(platform.engine)
        values.update(prepare_dagster_home(platform.settings, platform.database_url, policy))
    os.environ.update(values)
    instance = DagsterInstance.from_config(values["DAGSTER_HOME"])
    try:
        yield instance
    finally:
        instance.dispose()
