"""Faults of the mock ERP reach the SDK: retried (429 with Retry-After, 5xx, timeouts) or reported clearly."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from erp_platform.mock_erp import FaultRule, MockErpServer
from erp_platform.registry._models import SdkRequest
from erp_platform.sandbox import SandboxLimits, SdkCallError, UpstreamError
from erp_platform.sdks import SdkService
from tests.sdks.conftest import ReadySdk

PATH = "/api/v1/customers"
FAST = SandboxLimits(request_timeout_seconds=0.3, max_retries=2)


def _attempts(engine: Engine, tenant: str, run_id: str) -> list[tuple[int, int | None, str | None]]:
    with Session(engine) as session:
        rows = session.scalars(select(SdkRequest).where(SdkRequest.tenant_slug == tenant,
                                                        SdkRequest.run_id == run_id).order_by(SdkRequest.id))
        return [(r.attempt, r.status, r.error) for r in rows]


def _prefix(ready: ReadySdk) -> str:
    return f"tenant {ready.tenant!r}, SDK 'mock_erp' v1, operation 'list_customers': "


@pytest.mark.parametrize(
    ("rule", "attempts"),
    [
        (FaultRule(fault="429", path_prefix=PATH, count=1, retry_after=1), [(1, 429, None), (2, 200, None)]),
        (FaultRule(fault="500", path_prefix=PATH, count=2), [(1, 500, None), (2, 500, None), (3, 200, None)]),
        (FaultRule(fault="503", path_prefix=PATH, count=1, retry_after=0), [(1, 503, None), (2, 200, None)]),
        (FaultRule(fault="slow", path_prefix=PATH, count=1, delay_ms=1500),
         [(1, None, "ReadTimeout after 0.3s"), (2, 200, None)]),
    ],
    ids=["429-retry-after", "500", "503", "slow"],
)
def test_transient_faults_are_retried(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer, engine: Engine, rule: FaultRule,
    attempts: list[tuple[int, int | None, str | None]],
) -> None:
    erp_mock.add_fault(rule)
    run_id = f"fault-{rule.fault}"
    [page] = service.call(ready_sdk.tenant, "mock_erp", "list_customers", {"_page_size": 5}, run_id=run_id,
                          limits=FAST)
    assert [r["id"] for r in page.records] == [1, 2, 3, 4, 5]
    assert _attempts(engine, ready_sdk.tenant, run_id) == attempts


@pytest.mark.parametrize(
    ("rule", "outcome"),
    [
        (FaultRule(fault="503", path_prefix=PATH, count=None, retry_after=0),
         "failed after 3 attempts: HTTP 503"),
        (FaultRule(fault="slow", path_prefix=PATH, count=None, delay_ms=1500),
         "failed after 3 attempts: ReadTimeout after 0.3s"),
        (FaultRule(fault="html", path_prefix=PATH, count=None), "failed after 3 attempts: HTTP 502"),
    ],
    ids=["503", "slow", "html-502"],
)
def test_persistent_faults_give_up_with_a_clear_message(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer, rule: FaultRule, outcome: str
) -> None:
    erp_mock.add_fault(rule)
    with pytest.raises(UpstreamError) as caught:
        service.call(ready_sdk.tenant, "mock_erp", "list_customers", {"_page_size": 5}, limits=FAST)
    assert str(caught.value) == (
        f"{_prefix(ready_sdk)}GET {erp_mock.base_url}{PATH} {outcome}; the ERP is unavailable or "
        "overloaded, retry later"
    )
    assert caught.value.transient


@pytest.mark.parametrize("fault", ["truncated", "malformed"])
def test_broken_json_is_reported_with_where_and_what(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer, fault: str
) -> None:
    erp_mock.add_fault(FaultRule(fault=fault, path_prefix=PATH, count=1))  # type: ignore[arg-type]
    with pytest.raises(UpstreamError) as caught:
        service.call(ready_sdk.tenant, "mock_erp", "list_customers", {"_page_size": 5})
    message = str(caught.value)
    pattern = (
        re.escape(f"{_prefix(ready_sdk)}GET {erp_mock.base_url}{PATH}: the ERP answered HTTP 200 with a body "
                  "that is "
                  "not valid JSON (")
        + r"[^)]+: line 1 column \d+ \(char \d+\)"
        + re.escape("); the response was truncated or malformed, retry later or check the ERP")
    )
    assert re.fullmatch(pattern, message), message
    # the fault fired once: the next call reads the page
    [page] = service.call(ready_sdk.tenant, "mock_erp", "list_customers", {"_page_size": 5})
    assert len(page.records) == 5


def test_broken_json_parsed_by_the_guest_is_reported_by_the_sdk(
    service: SdkService, ready_sdk: ReadySdk, erp_mock: MockErpServer
) -> None:
    erp_mock.add_fault(FaultRule(fault="malformed", path_prefix=PATH, count=1))
    with pytest.raises(SdkCallError) as caught:
        service.call(ready_sdk.tenant, "mock_erp", "list_customers", {"_page_size": 5, "_mode": "guest"})
    assert str(caught.value).startswith(
        f"{_prefix(ready_sdk)}the SDK reported bad_response: operation 'list_customers': the response is not "
        "JSON ("
    )
    assert caught.value.guest_error.kind == "bad_response" and not caught.value.transient
