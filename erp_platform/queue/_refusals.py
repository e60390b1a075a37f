"""A refused run, as Dagster stores it: failed to start, tagged with the reason, its message the only event.

The coordinator does not let the refusal escape as an exception: Dagster would record it as an engine error
with the exception's class name and a stack trace, which is what the UI would then show. Instead the run is
marked failed with the refusal's message alone, and callers that launched it ask :func:`refusal_of`.
"""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun

from erp_platform.queue._admission import REFUSED_TAG
from erp_platform.queue._errors import RefusalReason, RunRefused
from erp_platform.queue._policy import TENANT_TAG, TIER_TAG


def report_refusal(instance: DagsterInstance, run: DagsterRun, refused: RunRefused) -> DagsterRun:
    """Tag the run with the refusal's reason (the UI filters on it) and mark it failed with the message."""
    tags = {REFUSED_TAG: refused.reason.value}
    if refused.tenant:
        tags[TENANT_TAG] = refused.tenant
    if refused.tier:
        tags[TIER_TAG] = refused.tier
    instance.add_run_tags(run.run_id, tags)
    instance.report_run_failed(run, message=refused.message)
    failed = instance.get_run_by_id(run.run_id)
    return failed if failed is not None else run


def refusal_of(instance: DagsterInstance, run_id: str) -> RunRefused | None:
    """The refusal of a run the queue refused at submit time, else None."""
    run = instance.get_run_by_id(run_id)
    reason = run.tags.get(REFUSED_TAG) if run is not None else None
    if run is None or reason is None:
        return None
    message = "refused by the run queue"
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.message:
            message = event.message
    try:
        code = RefusalReason(reason)
    except ValueError:
        code = RefusalReason.FLAG_BLOCK
    return RunRefused(code, message, tenant=run.tags.get(TENANT_TAG), tier=run.tags.get(TIER_TAG))
