"""Admission control: the rules a run must pass before it joins Dagster's queue.

Checked in this order, cheapest and most definite first, the token bucket last so a refusal never spends
a token: tenant identity, tenant status, control flags (global / tenant / workflow / sdk; block, pause),
workflow lifecycle (retired, past ``force_cancel_after``; deprecated runs are admitted with a warning
tag), backpressure (the tier's queue depth), ``max_concurrent_workflows``, ``max_jobs_per_hour``.

The quota checks and the enqueue run under a per-tenant advisory lock, so concurrent submits of one
tenant (webserver, daemon sensors, CLI) count each other's runs. Every refusal is recorded in
``erp_control.run_refusals`` with its reason code.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, text

from erp_platform._errors import InvalidInputError, NotFoundError
from erp_platform.controls import ControlFlag, ControlFlags, scope_ids_for
from erp_platform.queue._buckets import BucketSpec, TokenBuckets
from erp_platform.queue._errors import RefusalReason, RunRefused
from erp_platform.queue._policy import TENANT_TAG, tenant_run_tags
from erp_platform.queue._settings import QueueSettings, load_queue_settings
from erp_platform.tenancy import TenantInfo, TenantService

WORKFLOW_TAG = "erp/workflow"
WORKFLOW_VERSION_TAG = "erp/workflow_version"
SDKS_TAG = "erp/sdks"
DEPRECATED_TAG = "erp/deprecated"
REFUSED_TAG = "erp/refused"
LOCATION_PREFIX = "tenant_"
_SDK_RE = re.compile(r"([a-z_][a-z0-9_]{0,62})(?:@([1-9][0-9]{0,8}))?")

_WORKFLOW_SQL = text(
    """
    SELECT w.version, w.status, w.deprecated_after, w.force_cancel_after
      FROM erp_control.workflow_definitions w
     WHERE w.tenant_id = :tenant_id AND w.workflow_id = :workflow
       AND (w.version = :version OR (CAST(:version AS integer) IS NULL AND w.status = 'ACTIVE'))
    """
)
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_REFUSAL_SQL = text(
    """
    INSERT INTO erp_control.run_refusals (run_id, tenant_slug, tier, workflow_id, reason, message)
    VALUES (:run_id, :tenant, :tier, :workflow, :reason, :message)
    """
)


def jobs_per_hour_bucket(tenant: TenantInfo) -> BucketSpec:
    """The tenant's ``max_jobs_per_hour`` bucket: capacity = quota, refilled at quota / 3600 per second."""
    quota = tenant.quotas["max_jobs_per_hour"]
    return BucketSpec(name=f"jobs_per_hour:{tenant.slug}", capacity=float(quota), rate=quota / 3600.0)


def location_tenant(location: str | None) -> str | None:
    """The tenant slug of a code location named ``tenant_<slug>`` (None for other locations)."""
    if location and location.startswith(LOCATION_PREFIX) and len(location) > len(LOCATION_PREFIX):
        return location[len(LOCATION_PREFIX):]
    return None


def parse_sdks(value: str | None) -> tuple[tuple[str, int | None], ...]:
    """``"erp@3,crm"`` -> ``(("erp", 3), ("crm", None))``; malformed entries are skipped."""
    found: list[tuple[str, int | None]] = []
    for part in (value or "").split(","):
        match = _SDK_RE.fullmatch(part.strip())
        if match:
            found.append((match.group(1), int(match.group(2)) if match.group(2) else None))
    return tuple(found)


@dataclass(frozen=True)
class RunRequest:
    """What admission needs to know about a run: its id, code location and tags."""

    run_id: str
    job_name: str
    location: str | None
    tags: Mapping[str, str]

    @property
    def workflow(self) -> str | None:
        return self.tags.get(WORKFLOW_TAG) or None

    @property
    def sdks(self) -> tuple[tuple[str, int | None], ...]:
        return parse_sdks(self.tags.get(SDKS_TAG))


class RunCounter(Protocol):
    """Counts runs in Dagster's run storage (the coordinator passes one backed by the instance)."""

    def tenant_active_runs(self, tenant: str) -> int:
        """Runs of ``tenant`` queued, starting, running or cancelling."""
        ...

    def tier_queued_runs(self, tier: str) -> int:
        """Runs of ``tier`` waiting in the queue."""
        ...


@dataclass(frozen=True)
class Admission:
    """An admitted run: the tags to set on it and the warnings to log in its event log."""

    tenant: TenantInfo | None
    tags: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class AdmissionControl:
    """Decides whether runs may join the queue (see the module docstring for the rules).

    Args:
        engine: the platform database.
        settings: queue limits (default: from ``ERP_QUEUE_*``).
        configured_tag_keys: the tag keys the Dagster instance caps (so tenant cap tags always match a
            configured limit); None trusts every key.
        clock: the current time (tests).
    """

    def __init__(self, engine: Engine, settings: QueueSettings | None = None, *,
                 configured_tag_keys: Collection[str] | None = None,
                 clock: Any = None) -> None:
        self._engine = engine
        self._settings = settings or load_queue_settings()
        self._configured = frozenset(configured_tag_keys) if configured_tag_keys is not None else None
        self._buckets = TokenBuckets(engine)
        self._tenants = TenantService(engine)
        self._flags = ControlFlags(engine)
        self._clock = clock or (lambda: datetime.now(UTC))

    @property
    def settings(self) -> QueueSettings:
        return self._settings

    @contextmanager
    def admit(self, request: RunRequest, counter: RunCounter) -> Iterator[Admission]:
        """Check ``request``; inside the block (the tenant's admission lock held) the caller enqueues it.

        Raises:
            RunRefused: the run must not be queued; the refusal is already recorded.
        """
        try:
            with self._engine.begin() as conn:
                admission = self._check(conn, request, counter)
                yield admission
        except RunRefused as exc:
            self.record_refusal(request, exc)
            raise

    def check(self, request: RunRequest, counter: RunCounter) -> Admission:
        """Admit ``request`` without enqueueing anything (the token, if any, is taken)."""
        with self.admit(request, counter) as admission:
            return admission

    def record_refusal(self, request: RunRequest, refusal: RunRefused) -> None:
        """Append the refusal to ``erp_control.run_refusals`` (counted by metrics and ``erp ops status``)."""
        with self._engine.begin() as conn:
            conn.execute(_REFUSAL_SQL, {
                "run_id": request.run_id[:64],
                "tenant": _short(refusal.tenant or request.tags.get(TENANT_TAG), 40),
                "tier": refusal.tier,
                "workflow": _short(request.workflow, 63),
                "reason": refusal.reason.value,
                "message": refusal.message,
            })

    # -- rules -----------------------------------------------------------------------------------------
    def _check(self, conn: Connection, request: RunRequest, counter: RunCounter) -> Admission:
        slug = self._tenant_slug(request)
        if slug is None:
            self._refuse_on_flags(self._flags.applicable([("global", None)]), request, None)
            return Admission(tenant=None)
        tenant = self._tenant(slug, request)
        if tenant.status != "active":
            raise RunRefused(
                RefusalReason.TENANT_SUSPENDED,
                f"tenant {slug!r} is {tenant.status}: its runs are refused; reactivate it with "
                f"`erp tenant reactivate {slug}`, then launch again",
                tenant=slug, tier=tenant.tier,
            )
        flags = self._flags.applicable(scope_ids_for(slug, request.workflow, request.sdks))
        self._refuse_on_flags(flags, request, tenant)
        tags = tenant_run_tags(tenant, self._configured)
        warnings = self._check_workflow(conn, request, tenant, tags)
        conn.execute(_LOCK_SQL, {"key": f"erp/admission/{slug}"})
        self._check_backpressure(tenant, counter)
        self._check_concurrency(tenant, counter)
        self._take_token(conn, tenant)
        return Admission(tenant=tenant, tags=tags, warnings=tuple(warnings))

    def _tenant_slug(self, request: RunRequest) -> str | None:
        from_location = location_tenant(request.location)
        tagged = request.tags.get(TENANT_TAG) or None
        if from_location and tagged and tagged != from_location:
            raise RunRefused(
                RefusalReason.TENANT_MISMATCH,
                f"run {request.run_id} of code location {request.location!r} is tagged "
                f"{TENANT_TAG}={tagged!r}: a tenant's runs carry its own slug ({from_location!r}); remove or "
                "correct the tag and launch again",
                tenant=from_location,
            )
        return from_location or tagged

    def _tenant(self, slug: str, request: RunRequest) -> TenantInfo:
        try:
            return self._tenants.get(slug)
        except (NotFoundError, InvalidInputError):
            raise RunRefused(
                RefusalReason.TENANT_UNKNOWN,
                f"tenant {_short(slug, 60)!r} of run {request.run_id} does not exist; onboard it with "
                "`erp tenant create SLUG --tier TIER` or correct the run's erp/tenant tag",
            ) from None

    def _refuse_on_flags(self, flags: list[ControlFlag], request: RunRequest,
                         tenant: TenantInfo | None) -> None:
        for flag_type, reason in (("block", RefusalReason.FLAG_BLOCK), ("pause", RefusalReason.FLAG_PAUSE)):
            found = [f for f in flags if f.flag_type == flag_type]
            if found:
                flag = found[0]
                whose = f"runs of tenant {tenant.slug!r}" if tenant is not None else "runs"
                raise RunRefused(
                    reason,
                    f"{flag.label} refuses new {whose}; launch again once an operator clears it "
                    f"(`erp ops flag clear {flag.id}`)",
                    tenant=tenant.slug if tenant else None, tier=tenant.tier if tenant else None,
                )

    def _check_workflow(self, conn: Connection, request: RunRequest, tenant: TenantInfo,
                        tags: dict[str, str]) -> list[str]:
        workflow = request.workflow
        if workflow is None:
            return []
        raw_version = request.tags.get(WORKFLOW_VERSION_TAG)
        version = int(raw_version) if raw_version and raw_version.isdigit() else None
        what = f"workflow {workflow!r} version {raw_version or '(ACTIVE)'} of tenant {tenant.slug!r}"
        row = conn.execute(_WORKFLOW_SQL, {"tenant_id": tenant.id, "workflow": workflow[:63],
                                           "version": version}).first()
        if row is None or (raw_version and version is None):
            raise RunRefused(
                RefusalReason.WORKFLOW_UNKNOWN,
                f"{what} is not in the registry; launch a version listed by "
                f"`erp workflow list {tenant.slug}`",
                tenant=tenant.slug, tier=tenant.tier,
            )
        what = f"workflow {workflow!r} version {row.version} of tenant {tenant.slug!r}"
        now = self._clock()
        if row.status == "RETIRED":
            raise RunRefused(
                RefusalReason.WORKFLOW_RETIRED,
                f"{what} is RETIRED and never runs again; activate a newer version "
                f"(`erp workflow activate {tenant.slug} {workflow} VERSION`) and launch that",
                tenant=tenant.slug, tier=tenant.tier,
            )
        if row.status == "DRAFT":
            raise RunRefused(
                RefusalReason.WORKFLOW_UNKNOWN,
                f"{what} is a DRAFT that was never activated; activate it first "
                f"(`erp workflow activate {tenant.slug} {workflow} {row.version}`)",
                tenant=tenant.slug, tier=tenant.tier,
            )
        if row.force_cancel_after is not None and now >= row.force_cancel_after:
            raise RunRefused(
                RefusalReason.WORKFLOW_FORCE_CANCELLED,
                f"{what} passed its force_cancel_after ({row.force_cancel_after.isoformat()}): new runs "
                f"are refused; activate a newer version (`erp workflow activate {tenant.slug} {workflow} "
                "VERSION`) and launch that",
                tenant=tenant.slug, tier=tenant.tier,
            )
        deprecated_since = row.deprecated_after
        if row.status == "DEPRECATED" or (deprecated_since is not None and now >= deprecated_since):
            since = f" since {deprecated_since.isoformat()}" if deprecated_since is not None else ""
            cancel = (f"; its runs are cancelled after {row.force_cancel_after.isoformat()}"
                      if row.force_cancel_after is not None else "")
            tags[DEPRECATED_TAG] = f"version {row.version} deprecated{since}"
            return [f"{what} is deprecated{since}{cancel}: the run was admitted, but activate a newer "
                    "version soon"]
        return []

    def _check_backpressure(self, tenant: TenantInfo, counter: RunCounter) -> None:
        limit = self._settings.max_queue_depth[tenant.tier]
        queued = counter.tier_queued_runs(tenant.tier)
        if queued >= limit:
            raise RunRefused(
                RefusalReason.BACKPRESSURE,
                f"at capacity: {queued} runs queued for tier {tenant.tier}, maximum {limit}; retry later",
                tenant=tenant.slug, tier=tenant.tier,
            )

    def _check_concurrency(self, tenant: TenantInfo, counter: RunCounter) -> None:
        quota = tenant.quotas["max_concurrent_workflows"]
        active = counter.tenant_active_runs(tenant.slug)
        if active >= quota:
            raise RunRefused(
                RefusalReason.QUOTA_CONCURRENT_WORKFLOWS,
                f"tenant {tenant.slug!r} has {active} runs queued or running and its "
                f"max_concurrent_workflows is {quota}; retry when some finish, cancel some "
                f"(`erp ops run cancel RUN_ID`) or raise the quota "
                f"(`erp tenant set-quota {tenant.slug} --max-concurrent-workflows N`)",
                tenant=tenant.slug, tier=tenant.tier,
            )

    def _take_token(self, conn: Connection, tenant: TenantInfo) -> None:
        spec = jobs_per_hour_bucket(tenant)
        took = self._buckets.take(spec, conn=conn)
        if not took.granted:
            never = took.retry_after == float("inf")
            wait = "never at this quota" if never else f"in {took.retry_after:.0f} s"
            raise RunRefused(
                RefusalReason.QUOTA_JOBS_PER_HOUR,
                f"tenant {tenant.slug!r} used its max_jobs_per_hour of {int(spec.capacity)}; the next run "
                f"can be admitted {wait}; retry later or raise the quota "
                f"(`erp tenant set-quota {tenant.slug} --max-jobs-per-hour N`)",
                tenant=tenant.slug, tier=tenant.tier,
            )


def _short(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value if len(value) <= limit else value[: limit - 3] + "..."
