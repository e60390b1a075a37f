"""MockErpProcess: a child process with the same API; same config -> same bytes, across restarts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from erp_platform._errors import InvalidInputError
from erp_platform.mock_erp import (
    FaultRule,
    MockErpConfig,
    MockErpProcess,
    MockErpServer,
    MockErpStartError,
    TenantAuth,
    UnknownTenantError,
)

CONFIG = MockErpConfig(rows=777, seed=3, tenants={"zeta": TenantAuth(token="tz", api_key="kz")})
HEADERS = {"Authorization": "Bearer tz", "X-ERP-Tenant": "zeta"}
PAGES = [
    "/odata/v4/companies(zeta)/salesOrders?$top=300&$skip=100",
    "/odata/v2/Invoices?$top=50&$skip=700",
    "/api/v1/sales-order-lines?page=3&pageSize=1000",
    "/api/v1/customers/777",
]


@pytest.fixture(scope="module")
def child() -> Iterator[MockErpProcess]:
    with MockErpProcess(CONFIG) as process:
        yield process


def _bodies(base_url: str) -> list[bytes]:
    with httpx.Client(base_url=base_url, headers=HEADERS) as client:
        responses = [client.get(path) for path in PAGES]
    assert all(r.status_code == 200 for r in responses)
    # next links carry the host: compare bodies with it replaced
    return [r.content.replace(base_url.encode(), b"BASE") for r in responses]


def test_same_bytes_across_restarts_and_variants(child: MockErpProcess) -> None:
    first = _bodies(child.base_url)
    with MockErpProcess(CONFIG) as again:
        assert again.port != child.port
        assert _bodies(again.base_url) == first
    with MockErpServer(CONFIG) as in_thread:
        assert _bodies(in_thread.base_url) == first


def test_controls_go_through_the_admin_api(child: MockErpProcess) -> None:
    child.reset()
    config = httpx.get(f"{child.base_url}/_admin/config").json()
    assert config == {"rows": 777, "seed": 3, "tenants": ["zeta"]}  # no credentials
    child.add_fault(FaultRule(fault="503", path_prefix="/api", count=1))
    assert [f.rule.fault for f in child.faults()] == ["503"]
    with httpx.Client(base_url=child.base_url, headers=HEADERS) as client:
        assert client.get("/api/v1/items/1").status_code == 503
        assert client.get("/api/v1/items/1").status_code == 200
        snapshot = child.simulate("zeta", "items", append=2, touch=[5])
        assert snapshot.appended_ids == (78, 79)
        rest = client.get("/api/v1/items", params={"pageSize": "1000"}).json()["items"]
    assert rest == list(child.expected_records("zeta", "items"))
    assert [r["id"] for r in rest[-3:]] == [5, 78, 79]
    assert child.stats().by_path == {"/api/v1/items": {"200": 1}, "/api/v1/items/1": {"200": 1, "503": 1}}
    child.clear_faults()
    assert child.faults() == []
    with pytest.raises(UnknownTenantError, match="unknown ERP tenant 'acme': configured tenants are zeta"):
        child.simulate("acme", "items", append=1)
    with pytest.raises(InvalidInputError, match="touch items: no row with id 999"):
        child.simulate("zeta", "items", touch=[999])
    child.reset()
    assert child.activity_log("zeta").activity == ()


def test_port_in_use(child: MockErpProcess) -> None:
    with pytest.raises(MockErpStartError) as caught:
        MockErpProcess(CONFIG, port=child.port).start()
    assert str(caught.value) == (
        "mock ERP process did not start (first output ''); its stderr ends with:\n"
        f"error: mock ERP cannot listen on 127.0.0.1:{child.port}: Address already in use; pick another "
        "--port (0 picks a free one) or stop the process using it\n"
    )


def test_stop_is_idempotent() -> None:
    process = MockErpProcess(CONFIG).start()
    pid = process.pid
    process.stop()
    process.stop()
    with pytest.raises(MockErpStartError, match="not running"):
        _ = process.pid
    assert pid > 0
