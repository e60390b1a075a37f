"""``erp ops status``: queue depth, runs in progress, limits and quota left, per tier and per tenant."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, text

from erp_platform.controls import ControlFlags
from erp_platform.queue._admission import jobs_per_hour_bucket
from erp_platform.queue._buckets import TokenBuckets, refilled
from erp_platform.queue._run_tables import active_run_counts
from erp_platform.queue._settings import QueueSettings, load_queue_settings
from erp_platform.registry import TIERS
from erp_platform.tenancy import TenantService

_REFUSALS_LAST_HOUR = text(
    "SELECT reason, count(*) AS n FROM erp_control.run_refusals WHERE at > now() - interval '1 hour' "
    "GROUP BY reason ORDER BY reason"
)


def _percent(used: int, limit: int) -> float:
    return round(100.0 * used / limit, 1) if limit > 0 else (0.0 if used == 0 else 100.0)


class TierStatus(BaseModel):
    """Capacity of one tier: runs queued and in progress against the tier's limits."""

    model_config = ConfigDict(frozen=True)

    tier: str
    queued: int = Field(description="runs waiting in the queue (the queue depth)")
    running: int = Field(description="runs starting, running or cancelling")
    run_limit: int = Field(description="runs in progress allowed at once (erp/tier cap)")
    available_slots: int
    utilisation_percent: float = Field(description="running / run_limit")
    max_queue_depth: int = Field(description="queued runs beyond which new runs are refused")
    queue_utilisation_percent: float = Field(description="queued / max_queue_depth")
    tenant_run_limit: int = Field(description="default per-tenant cap (max_concurrent_jobs) of the tier")


class TenantStatus(BaseModel):
    """One tenant's runs against its caps and quotas."""

    model_config = ConfigDict(frozen=True)

    slug: str
    tier: str
    status: str
    queued: int
    running: int
    run_limit: int = Field(description="max_concurrent_jobs: runs in progress at once")
    available_slots: int
    utilisation_percent: float
    max_concurrent_workflows: int
    workflows_left: int = Field(description="more runs that may be queued or running now")
    max_jobs_per_hour: int
    jobs_left: int = Field(description="whole tokens left in the max_jobs_per_hour bucket")
    flags: list[str] = Field(default_factory=list, description="active control flags on this tenant")


class QueueStatus(BaseModel):
    """The whole queue at one moment."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    max_concurrent_runs: int
    running: int
    queued: int
    tiers: list[TierStatus]
    tenants: list[TenantStatus]
    global_flags: list[str]
    refusals_last_hour: dict[str, int]


def queue_status(engine: Engine, settings: QueueSettings | None = None) -> QueueStatus:
    """Collect the queue's state from Dagster's run storage and the registry (one query each)."""
    from erp_platform.queue._policy import tier_tenant_caps

    settings = settings or load_queue_settings()
    counts = active_run_counts(engine)
    by_tier: dict[str, dict[str, int]] = defaultdict(lambda: {"queued": 0, "running": 0})
    by_tenant: dict[str, dict[str, int]] = defaultdict(lambda: {"queued": 0, "running": 0})
    for c in counts:
        kind = "queued" if c.status == "QUEUED" else "running"
        if c.tier:
            by_tier[c.tier][kind] += c.count
        if c.tenant:
            by_tenant[c.tenant][kind] += c.count
    caps = tier_tenant_caps()
    tiers = []
    for tier in TIERS:
        q, r = by_tier[tier]["queued"], by_tier[tier]["running"]
        limit, depth = settings.tier_run_limits[tier], settings.max_queue_depth[tier]
        tiers.append(TierStatus(
            tier=tier, queued=q, running=r, run_limit=limit, available_slots=max(0, limit - r),
            utilisation_percent=_percent(r, limit), max_queue_depth=depth,
            queue_utilisation_percent=_percent(q, depth), tenant_run_limit=caps[tier],
        ))
    flags = ControlFlags(engine).list(active_only=True)
    global_flags = [f.label for f in flags if f.scope == "global"]
    buckets = TokenBuckets(engine).peek_prefix("jobs_per_hour:")
    tenants = []
    for info in TenantService(engine).list():
        q, r = by_tenant[info.slug]["queued"], by_tenant[info.slug]["running"]
        cap = info.quotas["max_concurrent_jobs"]
        spec = jobs_per_hour_bucket(info)
        stored = buckets.get(spec.name)
        tokens = spec.capacity if stored is None else refilled(stored[0], stored[1], spec)
        mine = [f.label for f in flags if f.scope_id is not None
                and (f.scope_id == info.slug or f.scope_id.startswith(f"{info.slug}/"))]
        tenants.append(TenantStatus(
            slug=info.slug, tier=info.tier, status=info.status, queued=q, running=r, run_limit=cap,
            available_slots=max(0, cap - r), utilisation_percent=_percent(r, cap),
            max_concurrent_workflows=info.quotas["max_concurrent_workflows"],
            workflows_left=max(0, info.quotas["max_concurrent_workflows"] - q - r),
            max_jobs_per_hour=info.quotas["max_jobs_per_hour"], jobs_left=int(tokens), flags=mine,
        ))
    with engine.connect() as conn:
        refusals = {r.reason: int(r.n) for r in conn.execute(_REFUSALS_LAST_HOUR)}
    return QueueStatus(
        at=datetime.now(UTC), max_concurrent_runs=settings.max_concurrent_runs,
        running=sum(t.running for t in tiers), queued=sum(t.queued for t in tiers),
        tiers=tiers, tenants=tenants, global_flags=global_flags, refusals_last_hour=refusals,
    )
