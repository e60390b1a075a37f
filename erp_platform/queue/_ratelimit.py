"""A :class:`~erp_platform.sandbox.RateLimiter` whose buckets live in Postgres, shared by every run worker.

The tenant's bucket refills at ``min(max_api_calls_per_minute, any global or tenant rate_limit flag)`` per
minute. A rate_limit flag on the workflow or on one of the session's SDKs adds a bucket of its own at the
flag's rate, so it slows only the work it names. A request takes a token from every bucket that applies.

With ``lease_seconds`` > 0 (run workers reading many pages) a limiter takes tokens from Postgres in small
batches and hands them out locally: one transaction per batch instead of one per request. A batch holds at
most ``lease_seconds`` of the bucket's rate (and a quarter of its burst), grows only while the batches before
it were used up within their lease, and whatever is left when the lease ends (or the limiter is released) is
given back, so a process never uses more than it took and holds back at most one lease of the tenant's rate
from the others. A crash loses at most that one batch: the ERP sees fewer requests, never more.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from erp_platform._errors import InvalidInputError
from erp_platform.controls import ControlFlag, ControlFlags, scope_ids_for
from erp_platform.queue._buckets import BucketSpec, TokenBuckets
from erp_platform.sandbox import RateLimited
from erp_platform.tenancy import TenantService

FLAG_VALUE_KEY = "max_api_calls_per_minute"
MAX_LEASE_SECONDS = 5.0
MAX_BATCH = 1 << 16
QUOTA_SOURCE = "max_api_calls_per_minute"


@dataclass
class _Lease:
    """Tokens this process took from one bucket and has not used yet."""

    spec: BucketSpec
    tokens: float = 0.0
    expires: float = 0.0
    batch: int = 1  # tokens the next batch takes (grows while leases are used up, shrinks when returned)


@dataclass(frozen=True)
class RateBucket:
    """One bucket a request must take a token from, and where its limit comes from."""

    spec: BucketSpec
    per_minute: int
    source: str


class PostgresRateLimiter:
    """Per-tenant request limits in ``erp_control.token_buckets`` (the platform's ``RateLimiter``).

    Args:
        engine: the platform database.
        workflow: the workflow the session works for (its rate_limit flags apply).
        sdks: ``(name, version)`` of the SDKs the session uses (their rate_limit flags apply).
        max_wait_seconds: longest a caller waits for tokens before :class:`RateLimited` is raised.
        burst_seconds: a bucket holds this many seconds of requests (at least one request).
        refresh_seconds: how long quotas and flags are cached before they are read again.
        lease_seconds: take tokens in batches of up to this many seconds of the bucket's rate (0: one
            transaction per request). Call :meth:`release` when done to give unused tokens back.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        workflow: str | None = None,
        sdks: Sequence[tuple[str, int | None]] = (),
        max_wait_seconds: float = 5.0,
        burst_seconds: float = 10.0,
        refresh_seconds: float = 5.0,
        lease_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._workflow = workflow
        self._sdks = tuple(sdks)
        self._max_wait = max_wait_seconds
        self._burst_seconds = burst_seconds
        self._refresh = refresh_seconds
        if not 0.0 <= lease_seconds <= MAX_LEASE_SECONDS:
            raise InvalidInputError(
                f"lease_seconds must be from 0 to {MAX_LEASE_SECONDS:g} (seconds of the rate taken at once), "
                f"got {lease_seconds!r}"
            )
        self._lease_seconds = lease_seconds
        self._leases: dict[str, _Lease] = {}
        self._refill_locks: dict[str, threading.Lock] = {}
        self._clock = clock
        self._sleep = sleep
        self._buckets = TokenBuckets(engine)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, list[RateBucket]]] = {}

    def limits(self, tenant: str) -> list[RateBucket]:
        """The buckets a request of ``tenant`` takes from (cached for ``refresh_seconds``)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and now - cached[0] < self._refresh:
                return cached[1]
        buckets = self._read_limits(tenant)
        with self._lock:
            self._cache[tenant] = (now, buckets)
        return buckets

    def acquire(self, tenant: str, n: int = 1) -> None:
        """Take ``n`` tokens from each applicable bucket, waiting while they refill (bounded).

        Raises:
            RateLimited: a bucket would need longer than ``max_wait_seconds`` to hold ``n`` tokens.
        """
        deadline = self._clock() + self._max_wait
        taken: list[BucketSpec] = []
        try:
            for bucket in self.limits(tenant):
                self._take(tenant, bucket, n, deadline)
                taken.append(bucket.spec)
        except RateLimited:
            for spec in taken:
                self._give_back(spec, float(n))
            raise

    def release(self) -> None:
        """Give every leased token not used yet back to its bucket (idempotent; call when the work ends)."""
        with self._lock:
            held = [(lease.spec, lease.tokens) for lease in self._leases.values() if lease.tokens > 0]
            self._leases.clear()
        for spec, tokens in held:
            self._buckets.refund(spec, tokens)

    def _take(self, tenant: str, bucket: RateBucket, n: int, deadline: float) -> None:
        spec = bucket.spec
        if self._lease_seconds <= 0:
            self._take_from_postgres(tenant, bucket, float(n), deadline)
            return
        if self._take_leased(spec.name, n):
            return
        with self._refill_lock(spec.name):  # one refill at a time; the others then use its batch
            if self._take_leased(spec.name, n):
                return
            batch = self._batch_size(spec, n)
            if batch > n and self._buckets.take(spec, float(batch)).granted:
                granted = batch
            else:
                self._take_from_postgres(tenant, bucket, float(n), deadline)
                granted = n
            with self._lock:
                lease = self._leases.setdefault(spec.name, _Lease(spec))
                lease.tokens += granted - n
                lease.expires = self._clock() + self._lease_seconds

    def _take_leased(self, name: str, n: int) -> bool:
        with self._lock:
            lease = self._leases.get(name)
            if lease is None or lease.tokens < n or self._clock() >= lease.expires:
                return False
            lease.tokens -= n
            return True

    def _batch_size(self, spec: BucketSpec, n: int) -> int:
        """Tokens the next batch takes; what an ended lease left unused goes back first.

        A lease used up within its time doubles the batch; one that ended with tokens left halves it.
        """
        left = 0.0
        with self._lock:
            lease = self._leases.get(spec.name)
            if lease is None:
                lease = self._leases[spec.name] = _Lease(spec)
            elif lease.tokens > 0:
                left, lease.tokens = lease.tokens, 0.0
                lease.batch = max(1, lease.batch // 2)
            else:
                lease.batch = min(lease.batch * 2, MAX_BATCH)
            wanted = lease.batch
        if left:
            self._buckets.refund(spec, left)
        most = min(spec.rate * self._lease_seconds, spec.capacity / 4)
        return max(n, min(wanted, math.floor(most)))

    def _take_from_postgres(self, tenant: str, bucket: RateBucket, n: float, deadline: float) -> None:
        while True:
            took = self._buckets.take(bucket.spec, n)
            if took.granted:
                return
            remaining = deadline - self._clock()
            if took.retry_after > remaining:
                raise RateLimited(_over_limit(tenant, bucket, took.retry_after, self._max_wait))
            self._sleep(max(took.retry_after, 0.001))

    def _give_back(self, spec: BucketSpec, n: float) -> None:
        if self._lease_seconds <= 0:
            self._buckets.refund(spec, n)
            return
        with self._lock:
            lease = self._leases.setdefault(spec.name, _Lease(spec))
            lease.tokens += n

    def _refill_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._refill_locks.setdefault(name, threading.Lock())

    def _read_limits(self, tenant: str) -> list[RateBucket]:
        info = TenantService(self._engine).get(tenant)
        quota = info.quotas["max_api_calls_per_minute"]
        applicable: Iterable[ControlFlag] = ControlFlags(self._engine).applicable(
            scope_ids_for(tenant, self._workflow, self._sdks)
        )
        flags = [f for f in applicable
                 if f.flag_type == "rate_limit" and isinstance(f.value.get(FLAG_VALUE_KEY), int)]
        per_minute, source = quota, QUOTA_SOURCE
        for flag in flags:
            if flag.scope in ("global", "tenant") and flag.value[FLAG_VALUE_KEY] < per_minute:
                per_minute, source = int(flag.value[FLAG_VALUE_KEY]), flag.label
        buckets = [self._bucket(f"api_per_minute:{tenant}", per_minute, source)]
        for flag in flags:
            if flag.scope in ("workflow", "sdk") and flag.value[FLAG_VALUE_KEY] < per_minute:
                buckets.append(self._bucket(f"api_per_minute:{flag.scope}:{flag.scope_id}",
                                            int(flag.value[FLAG_VALUE_KEY]), flag.label))
        return buckets

    def _bucket(self, name: str, per_minute: int, source: str) -> RateBucket:
        rate = per_minute / 60.0
        burst = max(1, min(per_minute, math.ceil(rate * self._burst_seconds)))
        capacity = float(burst) if per_minute else 0.0
        return RateBucket(spec=BucketSpec(name=name, capacity=capacity, rate=rate), per_minute=per_minute,
                          source=source)


def _over_limit(tenant: str, bucket: RateBucket, retry_after: float, max_wait: float) -> str:
    """What was exceeded (limit, window, source), when to retry, and how to raise the limit."""
    raise_it = (f"`erp tenant set-quota {tenant} --max-api-calls-per-minute N`"
                if bucket.source == QUOTA_SOURCE else f"clear or change {bucket.source}")
    exceeded = (f"tenant {tenant!r} is over its rate limit of {bucket.per_minute} requests/minute "
                f"({bucket.source})")
    if retry_after == float("inf"):
        return f"{exceeded}; no request is allowed at this limit: raise it ({raise_it})"
    return (f"{exceeded}; the next request would wait {retry_after:.2f}s, more than {max_wait:g}s: retry in "
            f"{math.ceil(retry_after)}s, or raise the limit ({raise_it})")
