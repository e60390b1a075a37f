"""The default per-tenant rate limiters: sized from the quota, one per tenant, replaced on quota changes."""

from __future__ import annotations

import pytest

from erp_platform.sandbox import RateLimited
from erp_platform.sdks import QuotaRateLimiters


def test_each_tenant_gets_its_own_limiter_sized_from_its_quota() -> None:
    limiters = QuotaRateLimiters()
    acme = limiters.for_tenant("acme", 6)  # 0.1 requests/s, a burst of 1
    assert limiters.for_tenant("acme", 6) is acme
    assert limiters.for_tenant("globex", 6) is not acme
    acme.acquire("acme")
    with pytest.raises(RateLimited) as caught:
        acme.acquire("acme")
    assert str(caught.value) == (
        "tenant 'acme' is over its rate limit of 0.1 requests/s (burst 1); the next request would wait "
        "10.00s, "
        "more than 5s; retry later or raise the tenant's limit"
    )
    limiters.for_tenant("globex", 6).acquire("globex")  # another tenant's bucket is untouched
    raised = limiters.for_tenant("acme", 600)
    assert raised is not acme
    for _ in range(100):
        raised.acquire("acme")
