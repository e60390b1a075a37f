"""The exported names of the queue package are pinned."""

from __future__ import annotations

import erp_platform.queue as queue


def test_queue_exports() -> None:
    assert sorted(queue.__all__) == sorted([
        "ACTIVE_STATUSES", "DEPRECATED_TAG", "FORCE_CANCEL_TAG", "IN_PROGRESS_STATUSES", "PAUSED_TAG",
        "REFUSED_TAG", "SDKS_TAG", "TENANT_TAG", "TIER_TAG", "WORKFLOW_TAG", "WORKFLOW_VERSION_TAG",
        "Admission", "AdmissionControl", "BucketSpec", "ForcedCancel", "InstanceRunCounter", "PoolStatus",
        "PostgresRateLimiter", "QueueMaintenance", "QueueSettings", "QueueStatus", "RateBucket",
        "RefusalReason", "RunAction", "RunControls", "RunCounter", "RunRefused", "RunRequest",
        "SqlRunCounter", "Take", "TenantStatus", "TierStatus", "TokenBuckets",
        "dagster_env", "enforce_force_cancel", "jobs_per_hour_bucket", "list_pools", "load_queue_settings",
        "location_tenant", "open_instance", "parse_sdks", "pool_name", "pool_tenant", "queue_policy",
        "queue_status", "refusal_of", "report_refusal", "run_pause", "run_request", "set_pool_limit",
        "tenant_run_tags", "tier_tenant_caps",
    ])
    assert all(hasattr(queue, name) for name in queue.__all__)


def test_refusal_reasons_are_stable_codes() -> None:
    assert [r.value for r in queue.RefusalReason] == [
        "flag_block", "flag_pause", "tenant_unknown", "tenant_mismatch", "tenant_suspended",
        "workflow_unknown", "workflow_retired", "workflow_force_cancelled", "backpressure",
        "quota_concurrent_workflows", "quota_jobs_per_hour",
    ]
    assert [r.value for r in queue.RefusalReason if r.transient] == [
        "backpressure", "quota_concurrent_workflows", "quota_jobs_per_hour"]


def test_sdk_tags_and_pool_names_parse() -> None:
    assert queue.parse_sdks("acme_erp@3, crm ,Bad-Name@x,erp@0") == (("acme_erp", 3), ("crm", None))
    assert queue.parse_sdks(None) == ()
    assert queue.location_tenant("tenant_acme") == "acme"
    assert queue.location_tenant("tenant_") is None
    assert queue.location_tenant("other") is None
    assert queue.pool_name("acme_co", "business_central") == "erp_acme_co__business_central"
    assert queue.pool_tenant("erp_acme_co__business_central") == "acme_co"
    assert queue.pool_tenant("shared_pool") is None
