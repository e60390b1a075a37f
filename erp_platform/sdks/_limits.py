"""The default per-tenant request limiter: token buckets from each tenant's ``max_api_calls_per_minute``."""

from __future__ import annotations

import threading

from erp_platform.sandbox import InMemoryRateLimiter, RateLimiter

#: A bucket holds this many seconds' worth of requests (bursts up to it).
BURST_SECONDS = 10


class QuotaRateLimiters:
    """One :class:`InMemoryRateLimiter` per tenant, sized from its quota; replaced when the quota changes.

    Nothing is shared between tenants: each has its own limiter object and bucket.
    """

    def __init__(self) -> None:
        self._limiters: dict[str, tuple[int, InMemoryRateLimiter]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str, calls_per_minute: int) -> RateLimiter:
        """The limiter of ``tenant`` for a quota of ``calls_per_minute`` (at least 1)."""
        per_minute = max(1, calls_per_minute)
        with self._lock:
            found = self._limiters.get(tenant)
            if found is not None and found[0] == per_minute:
                return found[1]
            rate = per_minute / 60.0
            limiter = InMemoryRateLimiter(rate=rate, burst=max(1, round(rate * BURST_SECONDS)))
            self._limiters[tenant] = (per_minute, limiter)
            return limiter
