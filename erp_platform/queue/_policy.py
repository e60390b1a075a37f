"""The queue policy rendered into ``dagster.yaml``, and the concurrency tags every tenant run carries.

Dagster caps runs by tag: ``erp/tier`` (one limit per tier) and one tenant tag whose unique values are
capped (``applyLimitPerUniqueValue``): ``erp/tenant_<tier>`` when the tenant's ``max_concurrent_jobs`` is
its tier's default, else ``erp/tenant_cap_<N>``. The extra ``N`` values in use are read from the registry.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine, text

from erp_platform.orchestration._dagster_home import QueuePolicy, tenant_cap_tag_key, tenant_tag_key
from erp_platform.queue._settings import QueueSettings, load_queue_settings
from erp_platform.tenancy import TIER_POLICIES, TenantInfo, Tier

TENANT_TAG = "erp/tenant"
TIER_TAG = "erp/tier"

_OVERRIDDEN_CAPS = text(
    """
    SELECT DISTINCT tier, max_concurrent_jobs
      FROM erp_control.tenants
     WHERE status <> 'deleted' AND max_concurrent_jobs IS NOT NULL
    """
)


def tier_tenant_caps() -> dict[str, int]:
    """Each tier's default ``max_concurrent_jobs`` (the per-tenant cap of tenants without an override)."""
    return {tier.value: TIER_POLICIES[tier].quotas.max_concurrent_jobs for tier in Tier}


def queue_policy(engine: Engine, settings: QueueSettings | None = None) -> QueuePolicy:
    """The policy for ``dagster.yaml``: settings plus the per-tenant caps in use in the registry."""
    settings = settings or load_queue_settings()
    defaults = tier_tenant_caps()
    with engine.connect() as conn:
        extra = {int(row.max_concurrent_jobs) for row in conn.execute(_OVERRIDDEN_CAPS)
                 if int(row.max_concurrent_jobs) != defaults.get(row.tier)}
    return QueuePolicy(
        tier_run_limits=dict(settings.tier_run_limits),
        tenant_run_limits=defaults,
        extra_tenant_caps=tuple(sorted(extra)),
        max_concurrent_runs=settings.max_concurrent_runs,
        pool_default_limit=settings.pool_default_limit,
        dequeue_interval_seconds=settings.dequeue_interval_seconds,
    )


def tenant_cap_key(tenant: TenantInfo, configured_keys: Collection[str] | None = None) -> str:
    """The run tag key that caps ``tenant``'s runs in progress at its ``max_concurrent_jobs``.

    When the instance was configured before the tenant's override existed (``configured_keys`` lacks
    ``erp/tenant_cap_<N>``), the tier's key is used so the run is never left without a tenant cap.
    """
    cap = tenant.quotas["max_concurrent_jobs"]
    if cap == tier_tenant_caps()[tenant.tier]:
        return tenant_tag_key(tenant.tier)
    key = tenant_cap_tag_key(cap)
    if configured_keys is not None and key not in configured_keys:
        return tenant_tag_key(tenant.tier)
    return key


def tenant_run_tags(tenant: TenantInfo, configured_keys: Collection[str] | None = None) -> dict[str, str]:
    """The tags that place a run of ``tenant`` under its tier's and its own concurrency caps."""
    return {
        TENANT_TAG: tenant.slug,
        TIER_TAG: tenant.tier,
        tenant_cap_key(tenant, configured_keys): tenant.slug,
    }
