"""The in-memory per-tenant token bucket."""

from __future__ import annotations

import pytest

from erp_platform.sandbox import BucketConfig, InMemoryRateLimiter, RateLimited, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def limiter(clock: FakeClock, **kwargs: object) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def test_it_is_a_rate_limiter() -> None:
    assert isinstance(InMemoryRateLimiter(), RateLimiter)


def test_burst_then_paced_waits() -> None:
    clock = FakeClock()
    bucket = limiter(clock, rate=2.0, burst=3, max_wait_seconds=5)
    for _ in range(5):
        bucket.acquire("acme")
    assert clock.sleeps == [0.5, 0.5]


def test_refill_over_time() -> None:
    clock = FakeClock()
    bucket = limiter(clock, rate=1.0, burst=2, max_wait_seconds=0)
    bucket.acquire("acme")
    bucket.acquire("acme")
    clock.now += 1.0
    bucket.acquire("acme")
    assert clock.sleeps == []


def test_waiting_longer_than_the_bound_raises() -> None:
    clock = FakeClock()
    bucket = limiter(clock, rate=0.5, burst=1, max_wait_seconds=1)
    bucket.acquire("acme")
    with pytest.raises(RateLimited) as caught:
        bucket.acquire("acme")
    assert str(caught.value) == (
        "tenant 'acme' is over its rate limit of 0.5 requests/s (burst 1); the next request would wait "
        "2.00s, more than 1s; retry later or raise the tenant's limit"
    )
    assert caught.value.transient is True


def test_tenants_have_separate_buckets_and_overrides() -> None:
    clock = FakeClock()
    bucket = limiter(
        clock, rate=1.0, burst=1, max_wait_seconds=0, per_tenant={"big": BucketConfig(rate=100.0, burst=50)}
    )
    bucket.acquire("acme")
    bucket.acquire("globex")
    for _ in range(50):
        bucket.acquire("big")
    with pytest.raises(RateLimited):
        bucket.acquire("acme")


def test_asking_for_more_than_the_burst() -> None:
    bucket = InMemoryRateLimiter(rate=1.0, burst=2)
    with pytest.raises(RateLimited) as caught:
        bucket.acquire("acme", n=3)
    assert str(caught.value) == "tenant 'acme' asked for 3 requests at once but its burst is 2"


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_bucket_config_is_validated(rate: float, burst: int) -> None:
    with pytest.raises(ValueError) as caught:
        BucketConfig(rate=rate, burst=burst)
    assert str(caught.value) == f"rate must be > 0 and burst >= 1 (got rate={rate}, burst={burst})"
