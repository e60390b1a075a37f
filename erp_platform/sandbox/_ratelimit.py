"""Per-tenant request rate limits: a protocol and an in-memory token bucket."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from erp_platform.sandbox._errors import RateLimited


@runtime_checkable
class RateLimiter(Protocol):
    """Grants ``n`` requests to ``tenant``, waiting up to a bound; raises :class:`RateLimited` beyond it.

    ``release`` is called when a session closes: a limiter that takes tokens ahead (in batches) gives back
    what it did not use.
    """

    def acquire(self, tenant: str, n: int = 1) -> None: ...

    def release(self) -> None: ...


@dataclass(frozen=True)
class BucketConfig:
    """A token bucket: ``rate`` requests per second on average, bursts up to ``burst``."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1 (got rate={self.rate}, burst={self.burst})")


class InMemoryRateLimiter:
    """Token buckets keyed by tenant, in this process only (the platform adds a Postgres one).

    Args:
        rate: default requests per second per tenant.
        burst: default bucket size per tenant.
        max_wait_seconds: longest a caller waits for a token before :class:`RateLimited` is raised.
        per_tenant: overrides of (rate, burst) by tenant slug.
    """

    def __init__(
        self,
        rate: float = 20.0,
        burst: int = 40,
        *,
        max_wait_seconds: float = 5.0,
        per_tenant: Mapping[str, BucketConfig] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._default = BucketConfig(rate, burst)
        self._per_tenant = dict(per_tenant or {})
        self._max_wait = max_wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, last refill time)

    def acquire(self, tenant: str, n: int = 1) -> None:
        """Take ``n`` tokens from the tenant's bucket, sleeping while they refill (bounded)."""
        config = self._per_tenant.get(tenant, self._default)
        if n > config.burst:
            raise RateLimited(
                f"tenant {tenant!r} asked for {n} requests at once but its burst is {config.burst}"
            )
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(tenant, (float(config.burst), now))
            tokens = min(float(config.burst), tokens + (now - last) * config.rate)
            wait = 0.0 if tokens >= n else (n - tokens) / config.rate
            if wait > self._max_wait:
                self._buckets[tenant] = (tokens, now)
                raise RateLimited(
                    f"tenant {tenant!r} is over its rate limit of {config.rate:g} requests/s "
                    f"(burst {config.burst}); the next request would wait {wait:.2f}s, more than "
                    f"{self._max_wait:g}s; retry later or raise the tenant's limit"
                )
            # Reserve the tokens now (the balance may go negative) so concurrent callers queue fairly.
            self._buckets[tenant] = (tokens - n, now)
        if wait > 0:
            self._sleep(wait)

    def release(self) -> None:
        """Nothing to give back: this limiter takes each request's token when it is made."""
