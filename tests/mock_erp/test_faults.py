"""Injected faults: each kind, "the next K requests", seeded rates, the admin endpoint, stats."""

from __future__ import annotations

import httpx
import orjson
import pytest
from pydantic import ValidationError

from erp_platform.mock_erp import FaultRule, MockErpServer

V4 = "/odata/v4/companies(acme)/customers"


def test_429_with_retry_after(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="429", path_prefix="/odata/v4", count=2, retry_after=3))
    first, second, third = (http.get(V4, params={"$top": "5"}) for _ in range(3))
    for response in (first, second):
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.json() == {
            "error": {"code": "too_many_requests", "message": "rate limit exceeded: retry after 3 seconds"}
        }
    assert third.status_code == 200
    assert [(f.fired, f.remaining) for f in clean_erp.faults()] == [(2, 0)]


@pytest.mark.parametrize(
    ("kind", "status", "code", "message", "retry_after"),
    [
        ("500", 500, "internal_error", "internal server error (injected fault)", None),
        ("503", 503, "unavailable", "service unavailable (injected fault): retry after 1 seconds", "1"),
    ],
)
def test_server_errors(
    clean_erp: MockErpServer,
    http: httpx.Client,
    kind: str,
    status: int,
    code: str,
    message: str,
    retry_after: str | None,
) -> None:
    clean_erp.add_fault(FaultRule(fault=kind))  # type: ignore[arg-type]
    response = http.get("/api/v1/items")
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": message}}
    assert response.headers.get("retry-after") == retry_after
    assert http.get("/api/v1/items").status_code == 200


def test_html_error_page(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="html"))
    response = http.get("/odata/v2/Items")
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!DOCTYPE html><html><head><title>502 Bad Gateway</title>")


def test_truncated_body(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="truncated", path_prefix="/api/v1/items"))
    cut = http.get("/api/v1/items", params={"pageSize": "50"})
    whole = http.get("/api/v1/items", params={"pageSize": "50"})
    assert cut.status_code == whole.status_code == 200
    assert int(cut.headers["content-length"]) == len(cut.content) == len(whole.content) // 2
    assert whole.content.startswith(cut.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_malformed_body(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="malformed"))
    response = http.get("/api/v1/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_slow_answers_late_but_correctly(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="slow", delay_ms=400))
    with pytest.raises(httpx.ReadTimeout):
        http.get("/api/v1/items/1", timeout=0.1)
    clean_erp.add_fault(FaultRule(fault="slow", delay_ms=50))
    response = http.get("/api/v1/items/1")
    assert response.status_code == 200
    assert response.json()["id"] == 1


def test_prefix_and_method_select_requests(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="500", path_prefix="/api/v1/sales-orders", method="post", count=None))
    assert http.get("/api/v1/sales-orders").status_code == 200
    assert http.get("/api/v1/customers").status_code == 200
    assert http.post("/api/v1/sales-orders", json={}).status_code == 500
    assert http.post("/api/v1/sales-orders", json={}).status_code == 500
    assert clean_erp.faults()[0].remaining is None


def test_rules_fire_in_order(clean_erp: MockErpServer, http: httpx.Client) -> None:
    clean_erp.add_fault(FaultRule(fault="503", count=1))
    clean_erp.add_fault(FaultRule(fault="429", count=1))
    assert [http.get("/api/v1/items").status_code for _ in range(3)] == [503, 429, 200]


def test_seeded_rate_is_reproducible(clean_erp: MockErpServer, http: httpx.Client) -> None:
    def run() -> list[int]:
        clean_erp.reset()
        clean_erp.add_fault(FaultRule(fault="503", rate=0.2, count=None, seed=42))
        return [http.get("/api/v1/items/1").status_code for _ in range(60)]

    first, second = run(), run()
    assert first == second
    assert 5 <= first.count(503) <= 20
    assert set(first) == {200, 503}


def test_admin_endpoints(clean_erp: MockErpServer, http: httpx.Client) -> None:
    base = clean_erp.base_url
    response = httpx.post(
        f"{base}/_admin/faults",
        json={"rules": [{"fault": "429", "path_prefix": "/api", "count": 1}, {"fault": "html", "count": 1}]},
    )
    assert response.status_code == 200
    assert [f["rule"]["fault"] for f in response.json()["faults"]] == ["429", "html"]
    assert httpx.post(f"{base}/_admin/faults", json={"fault": "500"}).status_code == 200
    assert [http.get("/api/v1/items").status_code for _ in range(4)] == [429, 502, 500, 200]
    listed = httpx.get(f"{base}/_admin/faults").json()["faults"]
    assert [(f["fired"], f["remaining"]) for f in listed] == [(1, 0), (1, 0), (1, 0)]
    assert httpx.delete(f"{base}/_admin/faults").json() == {"faults": []}
    stats = httpx.get(f"{base}/_admin/stats").json()
    assert stats == {"total": 4, "by_path": {"/api/v1/items": {"200": 1, "429": 1, "500": 1, "502": 1}}}
    assert httpx.post(f"{base}/_admin/reset").json() == {"status": "reset"}
    assert clean_erp.stats().total == 0


def test_admin_is_never_faulted_or_counted(clean_erp: MockErpServer) -> None:
    clean_erp.add_fault(FaultRule(fault="500", count=None))
    assert httpx.get(f"{clean_erp.base_url}/_admin/health").json() == {"status": "ok"}
    assert clean_erp.stats().total == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"fault": "418"},
            "rules[0] is invalid: fault: Input should be '429', '500', '503', 'slow', 'truncated', "
            "'malformed' or 'html'",
        ),
        (
            {"fault": "500", "path_prefix": "api"},
            "rules[0] is invalid: path_prefix: Value error, path_prefix 'api' must start with '/', "
            "e.g. '/odata/v4'",
        ),
        ({"fault": "503", "rate": 0}, "rules[0] is invalid: rate: Input should be greater than 0"),
        (
            {"rules": [{"fault": "500"}, {"fault": "slow", "delay_ms": -5}]},
            "rules[1] is invalid: delay_ms: Input should be greater than or equal to 0",
        ),
        (
            {"fault": "500", "count": 0},
            "rules[0] is invalid: count: Input should be greater than or equal to 1",
        ),
    ],
)
def test_bad_fault_rules(clean_erp: MockErpServer, body: dict[str, object], message: str) -> None:
    response = httpx.post(f"{clean_erp.base_url}/_admin/faults", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == message
    assert clean_erp.faults() == []


def test_bad_fault_rule_in_python() -> None:
    with pytest.raises(ValidationError, match="path_prefix 'x' must start with '/'"):
        FaultRule(fault="500", path_prefix="x")


def test_unknown_admin_endpoint(erp: MockErpServer) -> None:
    response = httpx.get(f"{erp.base_url}/_admin/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("no admin endpoint GET /_admin/nothing: see GET")
