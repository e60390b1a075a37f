"""Enforcing ``force_cancel_after``: runs of a workflow version past that date are cancelled.

Admission already refuses new runs of such versions and every step re-checks the date; this enforcer
(called periodically by the ``erp dev`` supervisor, or once by ``erp ops enforce``) also stops runs that
are queued or running at that moment, records why in each run's event log and in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import DagsterInstance
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, text

from erp_platform.queue._run_tables import active_workflow_runs
from erp_platform.registry import record_audit

ENFORCER_ACTOR = "system:force_cancel_after"
FORCE_CANCEL_TAG = "erp/force_cancelled"

_DUE = text(
    """
    SELECT t.slug, w.workflow_id, w.version, w.force_cancel_after
      FROM erp_control.workflow_definitions w
      JOIN erp_control.tenants t ON t.id = w.tenant_id
     WHERE w.force_cancel_after IS NOT NULL AND w.force_cancel_after <= :now
    """
)


class ForcedCancel(BaseModel):
    """A run the enforcer cancelled, and why."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    tenant: str
    workflow: str
    version: int
    force_cancel_after: datetime
    signalled: bool


def enforce_force_cancel(instance: DagsterInstance, engine: Engine, *,
                         now: datetime | None = None) -> list[ForcedCancel]:
    """Cancel every queued or running run of a workflow version whose ``force_cancel_after`` passed."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        due = {(r.slug, r.workflow_id, str(r.version)): r.force_cancel_after
               for r in conn.execute(_DUE, {"now": now})}
    if not due:
        return []
    done: list[ForcedCancel] = []
    for found in active_workflow_runs(engine):
        deadline = due.get((found.tenant, found.workflow, found.version))
        if deadline is None:
            continue
        run = instance.get_run_by_id(found.run_id)
        if run is None or run.is_finished:
            continue
        if run.tags.get(FORCE_CANCEL_TAG):  # recorded on an earlier pass: only retry the cancel
            instance.run_coordinator.cancel_run(run.run_id)
            continue
        instance.add_run_tags(run.run_id, {FORCE_CANCEL_TAG: deadline.isoformat()})
        why = (f"workflow {found.workflow!r} version {found.version} of tenant {found.tenant!r} passed its "
               f"force_cancel_after ({deadline.isoformat()}); the run is cancelled: activate a newer version "
               "and launch that")
        instance.report_engine_event(why, run)
        signalled = bool(instance.run_coordinator.cancel_run(run.run_id))
        with engine.begin() as conn:
            record_audit(conn, action="run.force_cancel", target_type="run", target_id=run.run_id,
                         tenant_slug=found.tenant, actor=ENFORCER_ACTOR,
                         details={"workflow": found.workflow, "version": int(found.version),
                                  "force_cancel_after": deadline.isoformat(), "status": found.status,
                                  "signalled": signalled})
        done.append(ForcedCancel(run_id=run.run_id, tenant=found.tenant, workflow=found.workflow,
                                 version=int(found.version), force_cancel_after=deadline,
                                 signalled=signalled))
    return done
