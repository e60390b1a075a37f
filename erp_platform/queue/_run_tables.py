"""Read-only SQL over Dagster's run storage tables (``runs``, ``run_tags``) in the platform database.

``dagster-postgres`` keeps its tables in the platform database (``ERP_DAGSTER_PG_URL`` is the same
database), so one aggregate query answers what would otherwise be one ``get_runs_count`` per tier and
tenant. Only stable columns are used: ``runs.run_id``, ``runs.status``, ``run_tags.key/value``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from erp_platform.queue._policy import TENANT_TAG, TIER_TAG

ACTIVE_STATUS_NAMES = ("QUEUED", "STARTING", "STARTED", "CANCELING")

_ACTIVE_COUNTS = text(
    """
    SELECT tn.value AS tenant, tr.value AS tier, r.status AS status, count(*) AS n
      FROM runs r
      LEFT JOIN run_tags tn ON tn.run_id = r.run_id AND tn.key = :tenant_tag
      LEFT JOIN run_tags tr ON tr.run_id = r.run_id AND tr.key = :tier_tag
     WHERE r.status IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING')
     GROUP BY 1, 2, 3
    """
)


@dataclass(frozen=True)
class ActiveRunCount:
    """Runs of one (tenant, tier, status) that are queued or in progress."""

    tenant: str | None
    tier: str | None
    status: str
    count: int


def active_run_counts(engine: Engine) -> list[ActiveRunCount]:
    """Queued and in-progress runs grouped by tenant tag, tier tag and status (empty before Dagster ran)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(_ACTIVE_COUNTS, {"tenant_tag": TENANT_TAG, "tier_tag": TIER_TAG}).all()
    except ProgrammingError as exc:
        if "does not exist" in str(exc.orig):
            return []  # Dagster's tables are created by the first `erp dev` / `dagster instance migrate`
        raise
    return [ActiveRunCount(tenant=r.tenant, tier=r.tier, status=r.status, count=int(r.n)) for r in rows]


_ACTIVE_WORKFLOW_RUNS = text(
    """
    SELECT r.run_id, r.status, tn.value AS tenant, tw.value AS workflow, tv.value AS version
      FROM runs r
      JOIN run_tags tn ON tn.run_id = r.run_id AND tn.key = :tenant_tag
      JOIN run_tags tw ON tw.run_id = r.run_id AND tw.key = 'erp/workflow'
      JOIN run_tags tv ON tv.run_id = r.run_id AND tv.key = 'erp/workflow_version'
     WHERE r.status IN ('QUEUED', 'STARTING', 'STARTED')
    """
)


@dataclass(frozen=True)
class WorkflowRun:
    """A queued or running run of a workflow version."""

    run_id: str
    status: str
    tenant: str
    workflow: str
    version: str


def active_workflow_runs(engine: Engine) -> list[WorkflowRun]:
    """Queued, starting and running runs that carry tenant, workflow and workflow-version tags."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(_ACTIVE_WORKFLOW_RUNS, {"tenant_tag": TENANT_TAG}).all()
    except ProgrammingError as exc:
        if "does not exist" in str(exc.orig):
            return []
        raise
    return [WorkflowRun(run_id=r.run_id, status=r.status, tenant=r.tenant, workflow=r.workflow,
                        version=r.version) for r in rows]


_TENANT_ACTIVE = text(
    """
    SELECT count(*) FROM runs r
      JOIN run_tags t ON t.run_id = r.run_id AND t.key = :key AND t.value = :value
     WHERE r.status IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING')
    """
)
_TIER_QUEUED = text(
    """
    SELECT count(*) FROM runs r
      JOIN run_tags t ON t.run_id = r.run_id AND t.key = :key AND t.value = :value
     WHERE r.status = 'QUEUED'
    """
)


class SqlRunCounter:
    """Counts runs in Dagster's run storage through the platform's pooled engine (a RunCounter).

    Dagster's own storage opens a new connection per query (NullPool); admission counts on every
    submit, so it reads the same tables through a pooled connection instead.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tenant_active_runs(self, tenant: str) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(_TENANT_ACTIVE, {"key": TENANT_TAG, "value": tenant}).scalar_one())

    def tier_queued_runs(self, tier: str) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(_TIER_QUEUED, {"key": TIER_TAG, "value": tier}).scalar_one())
