"""The Postgres RateLimiter: min(tenant quota, rate_limit flags), extra buckets for workflow/SDK flags."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from erp_platform.controls import ControlFlags
from erp_platform.queue import PostgresRateLimiter
from erp_platform.sandbox import RateLimited, RateLimiter
from erp_platform.tenancy import TenantService

SLUG = "rl_tenant"


@pytest.fixture
def tenant(engine: Engine, tenants: TenantService) -> Iterator[str]:
    if SLUG not in {t.slug for t in tenants.list()}:
        tenants.create(SLUG, "free")
    tenants.set_quotas(SLUG, {"max_api_calls_per_minute": 120})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM erp_control.token_buckets WHERE bucket LIKE 'api_per_minute:%'"))
    yield SLUG
    flags = ControlFlags(engine)
    for flag in flags.list(tenant=SLUG):
        flags.clear(flag.id)


def limiter(engine: Engine, **kwargs: object) -> PostgresRateLimiter:
    return PostgresRateLimiter(engine, max_wait_seconds=0, refresh_seconds=0, **kwargs)  # type: ignore[arg-type]


def test_it_is_a_rate_limiter(engine: Engine) -> None:
    assert isinstance(PostgresRateLimiter(engine), RateLimiter)


def test_the_tenant_quota_sets_rate_and_burst(engine: Engine, tenant: str) -> None:
    [bucket] = limiter(engine).limits(tenant)
    assert (bucket.spec.name, bucket.spec.capacity, bucket.spec.rate) == ("api_per_minute:rl_tenant", 20, 2)
    assert (bucket.per_minute, bucket.source) == (120, "max_api_calls_per_minute")


def test_a_burst_is_granted_then_the_caller_is_limited(engine: Engine, tenant: str) -> None:
    limit = limiter(engine)
    for _ in range(20):
        limit.acquire(tenant)
    with pytest.raises(RateLimited) as caught:
        limit.acquire(tenant)
    assert re.fullmatch(
        r"tenant 'rl_tenant' is over its rate limit of 120 requests/minute \(max_api_calls_per_minute\); the "
        r"next request would wait 0\.\d\ds, more than 0s: retry in 1s, or raise the limit \(`erp tenant "
        r"set-quota rl_tenant --max-api-calls-per-minute N`\)",
        str(caught.value),
    )
    assert caught.value.transient is True


def test_waiting_within_the_bound_sleeps_instead_of_failing(engine: Engine, tenant: str) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # instead of sleeping, age the bucket by that long
        slept.append(seconds)
        with engine.begin() as conn:
            conn.execute(text("UPDATE erp_control.token_buckets SET updated_at = updated_at - make_interval("
                              "secs => :s) WHERE bucket = 'api_per_minute:rl_tenant'"), {"s": seconds})

    limit = PostgresRateLimiter(engine, max_wait_seconds=5, refresh_seconds=0, sleep=sleep)
    for _ in range(21):
        limit.acquire(tenant)
    assert len(slept) == 1
    assert 0 < slept[0] <= 0.5  # one token at 2 per second


@pytest.mark.parametrize("scope", ["global", "tenant"])
def test_a_tenant_wide_flag_lowers_the_tenant_bucket(engine: Engine, tenant: str, scope: str) -> None:
    flag = ControlFlags(engine).set(scope=scope, scope_id=None if scope == "global" else tenant,
                                    flag_type="rate_limit", reason="ERP overloaded",
                                    value={"max_api_calls_per_minute": 30})
    [bucket] = limiter(engine).limits(tenant)
    assert (bucket.spec.name, bucket.per_minute, bucket.spec.capacity) == ("api_per_minute:rl_tenant", 30, 5)
    assert bucket.source == flag.label


def test_a_flag_above_the_quota_changes_nothing(engine: Engine, tenant: str) -> None:
    ControlFlags(engine).set(scope="tenant", scope_id=tenant, flag_type="rate_limit", reason="generous",
                             value={"max_api_calls_per_minute": 10000})
    [bucket] = limiter(engine).limits(tenant)
    assert bucket.per_minute == 120


@pytest.mark.parametrize(("scope", "scope_id"), [
    ("workflow", "rl_tenant/orders_sync"),
    ("sdk", "rl_tenant/acme_erp"),
    ("sdk", "rl_tenant/acme_erp@2"),
])
def test_a_workflow_or_sdk_flag_adds_its_own_bucket(engine: Engine, tenant: str, scope: str,
                                                    scope_id: str) -> None:
    flag = ControlFlags(engine).set(scope=scope, scope_id=scope_id, flag_type="rate_limit", reason="slow",
                                    value={"max_api_calls_per_minute": 6})
    scoped = limiter(engine, workflow="orders_sync", sdks=[("acme_erp", 2)])
    tenant_bucket, flag_bucket = scoped.limits(tenant)
    assert tenant_bucket.per_minute == 120
    assert (flag_bucket.spec.name, flag_bucket.per_minute, flag_bucket.spec.capacity) == (
        f"api_per_minute:{scope}:{scope_id}", 6, 1)
    assert flag_bucket.source == flag.label
    scoped.acquire(tenant)
    with pytest.raises(RateLimited) as caught:
        scoped.acquire(tenant)
    assert f"rate limit of 6 requests/minute ({flag.label})" in str(caught.value)
    other = limiter(engine, workflow="invoices", sdks=[("crm", 1)])
    assert len(other.limits(tenant)) == 1  # work the flag does not name keeps the tenant's rate
    other.acquire(tenant)


def test_a_refusal_returns_the_tokens_taken_from_other_buckets(engine: Engine, tenant: str) -> None:
    ControlFlags(engine).set(scope="sdk", scope_id=f"{tenant}/acme_erp", flag_type="rate_limit",
                             reason="slow", value={"max_api_calls_per_minute": 1})
    scoped = limiter(engine, sdks=[("acme_erp", 1)])
    tenant_bucket = scoped.limits(tenant)[0].spec
    from erp_platform.queue import TokenBuckets

    buckets = TokenBuckets(engine)
    scoped.acquire(tenant)
    left = buckets.peek(tenant_bucket)
    with pytest.raises(RateLimited):
        scoped.acquire(tenant)
    assert buckets.peek(tenant_bucket) == pytest.approx(left, abs=0.5)


def test_a_quota_of_zero_allows_no_request(engine: Engine, tenant: str, tenants: TenantService) -> None:
    tenants.set_quotas(tenant, {"max_api_calls_per_minute": 0})
    with pytest.raises(RateLimited) as caught:
        limiter(engine).acquire(tenant)
    assert str(caught.value) == (
        "tenant 'rl_tenant' is over its rate limit of 0 requests/minute (max_api_calls_per_minute); no request "
        "is allowed at this limit: raise it (`erp tenant set-quota rl_tenant --max-api-calls-per-minute N`)"
    )


def test_limits_are_cached_for_the_refresh_interval(engine: Engine, tenant: str) -> None:
    now = [0.0]
    cached = PostgresRateLimiter(engine, refresh_seconds=5, clock=lambda: now[0])
    assert cached.limits(tenant)[0].per_minute == 120
    ControlFlags(engine).set(scope="tenant", scope_id=tenant, flag_type="rate_limit", reason="slow",
                             value={"max_api_calls_per_minute": 60})
    assert cached.limits(tenant)[0].per_minute == 120
    now[0] = 6.0
    assert cached.limits(tenant)[0].per_minute == 60
