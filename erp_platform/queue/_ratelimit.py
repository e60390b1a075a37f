"""A :class:`~erp_platform.sandbox.RateLimiter` whose buckets live in Postgres, shared by every run worker.

The tenant's bucket refills at ``min(max_api_calls_per_minute, any global or tenant rate_limit flag)`` per
minute. A rate_limit flag on the workflow or on one of the session's SDKs adds a bucket of its own at the
flag's rate, so it slows only the work it names. A request takes a token from every bucket that applies.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from erp_platform.controls import ControlFlag, ControlFlags, scope_ids_for
from erp_platform.queue._buckets import BucketSpec, TokenBuckets
from erp_platform.sandbox import RateLimited
from erp_platform.tenancy import TenantService

FLAG_VALUE_KEY = "max_api_calls_per_minute"
QUOTA_SOURCE = "max_api_calls_per_minute"


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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._workflow = workflow
        self._sdks = tuple(sdks)
        self._max_wait = max_wait_seconds
        self._burst_seconds = burst_seconds
        self._refresh = refresh_seconds
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
                while True:
                    took = self._buckets.take(bucket.spec, float(n))
                    if took.granted:
                        taken.append(bucket.spec)
                        break
                    remaining = deadline - self._clock()
                    if took.retry_after > remaining:
                        raise RateLimited(_over_limit(tenant, bucket, took.retry_after, self._max_wait))
                    self._sleep(max(took.retry_after, 0.001))
        except RateLimited:
            for spec in taken:
                self._buckets.refund(spec, float(n))
            raise

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
