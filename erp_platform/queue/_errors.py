"""Why the run queue refuses a run: one reason code per rule, counted in ``run_refusals``."""

from __future__ import annotations

from enum import StrEnum

from erp_platform._errors import ErpPlatformError


class RefusalReason(StrEnum):
    """Reason codes stored in ``erp_control.run_refusals.reason`` and exported as a metric label."""

    FLAG_BLOCK = "flag_block"
    FLAG_PAUSE = "flag_pause"
    TENANT_UNKNOWN = "tenant_unknown"
    TENANT_MISMATCH = "tenant_mismatch"
    TENANT_SUSPENDED = "tenant_suspended"
    WORKFLOW_UNKNOWN = "workflow_unknown"
    WORKFLOW_RETIRED = "workflow_retired"
    WORKFLOW_FORCE_CANCELLED = "workflow_force_cancelled"
    BACKPRESSURE = "backpressure"
    QUOTA_CONCURRENT_WORKFLOWS = "quota_concurrent_workflows"
    QUOTA_JOBS_PER_HOUR = "quota_jobs_per_hour"

    @property
    def transient(self) -> bool:
        """True when the same run may be admitted later without anyone changing anything."""
        return self in _TRANSIENT


_TRANSIENT = frozenset({
    RefusalReason.BACKPRESSURE,
    RefusalReason.QUOTA_CONCURRENT_WORKFLOWS,
    RefusalReason.QUOTA_JOBS_PER_HOUR,
})


class RunRefused(ErpPlatformError):
    """The run queue refused a run at submit time; the message says why and what to do.

    Dagster shows it in the run's event log as ``erp_platform.queue.RunRefused: <message>``.
    """

    __module__ = "erp_platform.queue"  # the public name, which Dagster prints before the message

    def __init__(self, reason: RefusalReason, message: str, *, tenant: str | None = None,
                 tier: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.tenant = tenant
        self.tier = tier
        self.transient = reason.transient
