"""The fair, controllable run queue: admission at submit time, quotas, backpressure and run controls.

Dagster queues and dequeues the runs (``ErpRunCoordinator`` with tier and tenant tag limits, see
``erp_platform.orchestration``); this package decides what may enter the queue and lets operators act on it:

- :class:`AdmissionControl` refuses runs (:class:`RunRefused` with a :class:`RefusalReason`) on control
  flags, suspended tenants, retired or force-cancelled workflow versions, backpressure and quotas;
- :class:`TokenBuckets` are Postgres token buckets taken in one SQL statement; :class:`PostgresRateLimiter`
  is the sandbox's cluster-wide request limiter built on them;
- :func:`queue_policy` renders the tier and tenant caps for ``dagster.yaml``;
- :func:`queue_status`, :class:`RunControls` and :func:`enforce_force_cancel` back ``erp ops``.

Example::

    with open_instance(platform) as instance:
        RunControls(instance, platform.engine).pause(run_id, reason="ERP maintenance")
"""

from erp_platform.queue._admission import (
    DEPRECATED_TAG,
    REFUSED_TAG,
    SDKS_TAG,
    WORKFLOW_TAG,
    WORKFLOW_VERSION_TAG,
    Admission,
    AdmissionControl,
    RunCounter,
    RunRequest,
    jobs_per_hour_bucket,
    location_tenant,
    parse_sdks,
)
from erp_platform.queue._buckets import BucketSpec, Take, TokenBuckets
from erp_platform.queue._errors import RefusalReason, RunRefused
from erp_platform.queue._instance import (
    ACTIVE_STATUSES,
    IN_PROGRESS_STATUSES,
    InstanceRunCounter,
    dagster_env,
    open_instance,
    run_request,
)
from erp_platform.queue._lifecycle import FORCE_CANCEL_TAG, ForcedCancel, enforce_force_cancel
from erp_platform.queue._maintenance import QueueMaintenance
from erp_platform.queue._policy import TENANT_TAG, TIER_TAG, queue_policy, tenant_run_tags, tier_tenant_caps
from erp_platform.queue._pools import PoolStatus, list_pools, pool_name, pool_tenant, set_pool_limit
from erp_platform.queue._ratelimit import PostgresRateLimiter, RateBucket
from erp_platform.queue._refusals import refusal_of, report_refusal
from erp_platform.queue._run_tables import SqlRunCounter
from erp_platform.queue._runs import PAUSED_TAG, RunAction, RunControls, run_pause
from erp_platform.queue._settings import QueueSettings, load_queue_settings
from erp_platform.queue._status import QueueStatus, TenantStatus, TierStatus, queue_status

__all__ = [
    "ACTIVE_STATUSES",
    "DEPRECATED_TAG",
    "FORCE_CANCEL_TAG",
    "IN_PROGRESS_STATUSES",
    "PAUSED_TAG",
    "REFUSED_TAG",
    "SDKS_TAG",
    "TENANT_TAG",
    "TIER_TAG",
    "WORKFLOW_TAG",
    "WORKFLOW_VERSION_TAG",
    "Admission",
    "AdmissionControl",
    "BucketSpec",
    "ForcedCancel",
    "InstanceRunCounter",
    "PoolStatus",
    "PostgresRateLimiter",
    "QueueMaintenance",
    "QueueSettings",
    "QueueStatus",
    "RateBucket",
    "RefusalReason",
    "RunAction",
    "RunControls",
    "RunCounter",
    "RunRefused",
    "RunRequest",
    "SqlRunCounter",
    "Take",
    "TenantStatus",
    "TierStatus",
    "TokenBuckets",
    "dagster_env",
    "enforce_force_cancel",
    "jobs_per_hour_bucket",
    "list_pools",
    "load_queue_settings",
    "location_tenant",
    "open_instance",
    "parse_sdks",
    "pool_name",
    "pool_tenant",
    "queue_policy",
    "queue_status",
    "refusal_of",
    "report_refusal",
    "run_pause",
    "run_request",
    "set_pool_limit",
    "tenant_run_tags",
    "tier_tenant_caps",
]
