"""PostgresRateLimiter with leases: tokens taken from Postgres in batches, handed out locally, unused ones given
back; never more requests than the bucket grants, across processes (limiters) and tenants."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from erp_platform._errors import InvalidInputError
from erp_platform.queue import PostgresRateLimiter, TokenBuckets
from erp_platform.sandbox import RateLimited
from erp_platform.tenancy import TenantService

SLUG = "lease_tenant"
OTHER = "lease_other"


@pytest.fixture
def tenant(engine: Engine, tenants: TenantService) -> Iterator[str]:
    known = {t.slug for t in tenants.list()}
    for slug in (SLUG, OTHER):
        if slug not in known:
            tenants.create(slug, "free")
        tenants.set_quotas(slug, {"max_api_calls_per_minute": 120})  # 2 per second, burst 20
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM erp_control.token_buckets WHERE bucket LIKE 'api_per_minute:lease_%'"))
    yield SLUG


class CountingBuckets(TokenBuckets):
    """Counts the transactions that take tokens from Postgres."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.takes = 0

    def take(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.takes += 1
        return super().take(*args, **kwargs)


def leased(engine: Engine, **kwargs: object) -> tuple[PostgresRateLimiter, CountingBuckets]:
    limiter = PostgresRateLimiter(engine, max_wait_seconds=0, refresh_seconds=60, lease_seconds=5,
                                  **kwargs)  # type: ignore[arg-type]
    counting = CountingBuckets(engine)
    limiter._buckets = counting  # observe the transactions the limiter makes
    return limiter, counting


def stored(engine: Engine, limiter: PostgresRateLimiter, tenant: str) -> float:
    return TokenBuckets(engine).peek(limiter.limits(tenant)[0].spec)


def test_tokens_come_in_growing_batches_and_unused_ones_go_back(engine: Engine, tenant: str) -> None:
    limiter, counting = leased(engine)
    for _ in range(7):
        limiter.acquire(tenant)
    assert counting.takes == 3  # batches of 1, 2 and 4 tokens (5 s of 2/s, at most a quarter of the burst: 5)
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 7, abs=0.5)  # all 7 taken, none left over
    limiter.acquire(tenant)
    assert counting.takes == 4  # the next batch: 5 tokens, one used
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 12, abs=0.5)
    limiter.release()
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 8, abs=0.5)  # the 4 unused came back
    limiter.release()  # idempotent
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 8, abs=0.5)


def test_an_ended_lease_gives_back_its_tokens_and_takes_smaller_batches(engine: Engine, tenant: str) -> None:
    now = [0.0]
    limiter = PostgresRateLimiter(engine, max_wait_seconds=0, refresh_seconds=600, lease_seconds=5,
                                  clock=lambda: now[0])
    for _ in range(4):  # batches 1, 2, then 4 (one of them used)
        limiter.acquire(tenant)
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 7, abs=0.5)
    now[0] = 10.0  # the lease ended with 3 tokens unused
    limiter.acquire(tenant)
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 4 - 2, abs=0.5)  # 3 back, a batch of 2 taken
    limiter.release()
    assert stored(engine, limiter, tenant) == pytest.approx(20 - 5, abs=0.5)


def test_limiters_of_several_processes_never_grant_more_than_the_bucket(engine: Engine, tenant: str) -> None:
    """Four limiters (run workers), each used by four threads, empty a burst of 20: exactly 20 requests pass."""
    limiters = [leased(engine)[0] for _ in range(4)]
    granted: list[int] = []
    lock = threading.Lock()

    def worker(limiter: PostgresRateLimiter) -> None:
        for _ in range(15):
            try:
                limiter.acquire(tenant)
            except RateLimited:
                continue
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=worker, args=(lim,)) for lim in limiters for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 20 <= len(granted) <= 21  # the burst, plus at most one token refilled while the test ran
    for limiter in limiters:
        limiter.release()
    assert stored(engine, limiters[0], tenant) < 2  # what was left in leases came back, nothing more


def test_one_tenants_lease_never_serves_another_tenant(engine: Engine, tenant: str) -> None:
    limiter, _ = leased(engine)
    for _ in range(3):
        limiter.acquire(tenant)  # tenant A now holds tokens of its own bucket
    before = stored(engine, limiter, OTHER)
    limiter.acquire(OTHER)
    assert stored(engine, limiter, OTHER) == pytest.approx(before - 1, abs=0.5)
    for _ in range(30):  # B exhausts its own bucket; A's leased tokens never stand in for it
        try:
            limiter.acquire(OTHER)
        except RateLimited as exc:
            assert f"tenant '{OTHER}'" in str(exc)
            break
    else:
        pytest.fail("tenant B was never limited")
    limiter.acquire(tenant)  # and B's refusal does not touch A


def test_a_refusal_on_a_second_bucket_keeps_the_first_buckets_token_for_later(
    engine: Engine, tenant: str,
) -> None:
    from erp_platform.controls import ControlFlags

    flags = ControlFlags(engine)
    flag = flags.set(scope="sdk", scope_id=f"{tenant}/acme_erp", flag_type="rate_limit", reason="slow",
                     value={"max_api_calls_per_minute": 1})
    try:
        limiter, _ = leased(engine, sdks=[("acme_erp", 1)])
        limiter.acquire(tenant)
        with pytest.raises(RateLimited, match=r"rate limit of 1 requests/minute"):
            limiter.acquire(tenant)
        limiter.release()
        assert stored(engine, limiter, tenant) == pytest.approx(20 - 1, abs=0.5)
    finally:
        flags.clear(flag.id)


@pytest.mark.parametrize("bad", [-1, 5.5, float("nan")])
def test_a_lease_out_of_range_is_refused(engine: Engine, bad: float) -> None:
    with pytest.raises(InvalidInputError, match=r"lease_seconds must be from 0 to 5 .* got"):
        PostgresRateLimiter(engine, lease_seconds=bad)
