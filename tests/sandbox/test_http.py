"""Faults of a real local ERP server: retries, Retry-After, timeouts, malformed bodies, size caps, audit."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from typing import Any

import httpx
import pytest

from erp_platform.sandbox import (
    AuthConfig,
    AuthScheme,
    DeadlineExceeded,
    EgressDenied,
    EgressPolicy,
    HeaderSource,
    LoadedComponent,
    ResponseTooLarge,
    SdkCallError,
    SdkSession,
    UpstreamError,
)
from tests.sandbox.conftest import ERP_HOST, Harness
from tests.sandbox.erp_server import customer

PREFIX = "tenant 'acme', SDK 'test-erp' v3, operation '{op}': "


def session(harness: Harness, connector: LoadedComponent, **limits: Any) -> SdkSession:
    return harness.session(connector, harness.manifest(**limits))


def fetch(s: SdkSession, path: str) -> Any:
    return s.call("fetch_path", {"path": path, "record_path": ["value"]})


def test_429_with_retry_after_seconds_is_retried_after_that_delay(
    harness: Harness, connector: LoadedComponent
) -> None:
    with session(harness, connector) as s:
        page = fetch(s, "/flaky?key=a&fail=1&status=429&retry_after=2")
    assert page.records[0]["id"] == 1
    assert harness.sleeps == [2.0]
    assert [(r.status, r.attempt) for r in harness.recorder.records] == [(429, 1), (200, 2)]
    assert page.stats.requests == 1
    assert page.stats.attempts == 2


def test_retry_after_as_an_http_date(harness: Harness, connector: LoadedComponent) -> None:
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    with session(harness, connector) as s:
        fetch(s, f"/flaky?key=b&fail=1&status=503&retry_after={when.replace(' ', '%20')}")
    [delay] = harness.sleeps
    assert 1.0 < delay <= 3.0


def test_retry_after_is_capped_by_the_manifest(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector, max_retry_after_seconds=1.5) as s:
        fetch(s, "/flaky?key=c&fail=1&status=429&retry_after=600")
    assert harness.sleeps == [1.5]


def test_503_then_success_backs_off_exponentially_with_jitter(
    harness: Harness, connector: LoadedComponent
) -> None:
    with session(harness, connector) as s:
        page = fetch(s, "/flaky?key=d&fail=3&status=503")
    assert page.status == 200
    first, second, third = harness.sleeps
    assert 0.125 <= first <= 0.25
    assert 0.25 <= second <= 0.5
    assert 0.5 <= third <= 1.0
    assert [r.status for r in harness.recorder.records] == [503, 503, 503, 200]


def test_500_exhausting_retries_is_an_upstream_error(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector, max_retries=2) as s, pytest.raises(UpstreamError) as caught:
        fetch(s, "/status/500")
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/status/500 failed after 3 attempts: HTTP 500; the ERP is "
        "unavailable or overloaded, retry later"
    )
    assert caught.value.status == 500
    assert caught.value.transient is True
    assert len(harness.erp.received("/status/500")) == 3


def test_a_slow_server_times_out(harness: Harness, connector: LoadedComponent) -> None:
    s = session(harness, connector, request_timeout_seconds=0.3, max_retries=1)
    with s, pytest.raises(UpstreamError) as caught:
        fetch(s, "/slow?seconds=2")
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/slow failed after 2 attempts: ReadTimeout after 0.3s; the "
        "ERP is unavailable or overloaded, retry later"
    )
    assert [r.error for r in harness.recorder.records] == ["ReadTimeout after 0.3s"] * 2


def test_the_call_deadline_bounds_the_http_requests(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector, deadline_seconds=1.0) as s, pytest.raises(DeadlineExceeded) as caught:
        fetch(s, "/slow?seconds=3")
    assert str(caught.value).startswith(
        PREFIX.format(op="fetch_path") + f"GET http://{ERP_HOST}:{harness.erp.port}/slow: gave up after 1 "
        "attempt (ReadTimeout after "
    )
    assert "would pass the call's deadline of 1s" in str(caught.value)


def test_truncated_json_is_retried_then_reported(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector, max_retries=1) as s, pytest.raises(UpstreamError) as caught:
        fetch(s, "/truncated")
    size = len(json.dumps({"value": [customer(i) for i in range(1, 6)]}))
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/truncated failed after 2 attempts: RemoteProtocolError: "
        f"peer closed connection without sending complete message body (received {size // 2} bytes, expected "
        f"{size}); the ERP is unavailable or overloaded, retry later"
    )


def test_malformed_json_names_the_operation_and_path(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector) as s, pytest.raises(UpstreamError) as caught:
        fetch(s, "/malformed?page=2")
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/malformed: the ERP answered HTTP 200 with a body that is "
        "not valid JSON (unexpected character, expected a string key: line 1 column 21 (char 20)); the "
        "response was "
        "truncated or malformed, retry later or check the ERP"
    )


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/big?bytes=2000000", "declares 2000015 bytes"),
        ("/big-chunked?bytes=2000000", "exceeded 1000000 bytes while downloading"),
    ],
)
def test_oversized_responses_are_aborted(
    harness: Harness, connector: LoadedComponent, path: str, what: str
) -> None:
    with session(harness, connector, max_response_bytes=1_000_000) as s:
        with pytest.raises(ResponseTooLarge) as caught:
            fetch(s, path)
        still = s.call("echo", {"still": "works"})
    assert still.result == {"still": "works"}
    shown = path.split("?", maxsplit=1)[0]
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}{shown}: the response {what}, more than "
        "limits.max_response_bytes (1000000); request smaller pages"
    )


def test_a_404_reaches_the_guest_which_reports_it(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector) as s, pytest.raises(SdkCallError) as caught:
        fetch(s, "/status/404")
    error = caught.value.guest_error
    assert (error.kind, error.status, error.retryable) == ("http_error", 404, False)
    assert error.message == 'HttpError: 404 Not Found: {"error": {"code": "status", "message": "status 404"}}'
    assert caught.value.transient is False
    assert len(harness.erp.received("/status/404")) == 1


def test_post_is_retried_only_with_an_idempotency_key(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector) as s:
        plain = s.call("send_path", {"path": "/flaky?key=p1&fail=1", "method": "POST", "body": "{}"})
        keyed = s.call(
            "send_path",
            {
                "path": "/flaky?key=p2&fail=1",
                "method": "POST",
                "body": "{}",
                "headers": [["Idempotency-Key", "k"]],
            },
        )
    assert plain.result["status"] == 503
    assert keyed.result["status"] == 200
    assert len(harness.erp.received("/flaky?key=p1")) == 1
    assert len(harness.erp.received("/flaky?key=p2")) == 2


AUTH_CASES = [
    (
        AuthConfig(scheme=AuthScheme.BEARER, credential="token"),
        "Authorization",
        "Bearer tok-SECRET-acme-1234",
    ),
    (
        AuthConfig(scheme=AuthScheme.API_KEY_HEADER, credential="api_key", header_name="X-API-Key"),
        "X-API-Key",
        "key-SECRET-acme-5678",
    ),
    (
        AuthConfig(scheme=AuthScheme.BASIC, credential="token", username_credential="erp_tenant"),
        "Authorization",
        "Basic QUNNRS1HTUJIOnRvay1TRUNSRVQtYWNtZS0xMjM0",
    ),
]


@pytest.mark.parametrize(("auth", "header", "value"), AUTH_CASES, ids=["bearer", "api_key_header", "basic"])
def test_credentials_are_attached_by_scheme(
    harness: Harness, connector: LoadedComponent, auth: AuthConfig, header: str, value: str
) -> None:
    manifest = harness.manifest(
        auth=auth,
        headers=(
            HeaderSource(name="X-ERP-Tenant", credential="erp_tenant"),
            HeaderSource(name="X-Client", value="erp"),
        ),
    )
    with harness.session(connector, manifest) as s:
        s.call("fetch_path", {"path": "/headers"})
    [received] = harness.erp.received("/headers")
    assert received.headers[header] == value
    assert received.headers["X-ERP-Tenant"] == "ACME-GMBH"
    assert received.headers["X-Client"] == "erp"


def test_api_key_in_the_query_is_never_recorded_or_logged(
    harness: Harness, connector: LoadedComponent, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = harness.manifest(
        auth=AuthConfig(scheme=AuthScheme.API_KEY_QUERY, credential="api_key", param_name="apikey"),
        request_timeout_seconds=0.3,
        max_retries=0,
    )
    caplog.set_level(logging.DEBUG)
    with harness.session(connector, manifest) as s:
        s.call("fetch_path", {"path": "/headers?$top=5"})
        with pytest.raises(UpstreamError) as caught:
            s.call("fetch_path", {"path": "/slow?seconds=1"})
    [received] = harness.erp.received("/headers")
    assert received.path == "/headers?$top=5&apikey=key-SECRET-acme-5678"
    first = harness.recorder.records[0]
    assert (first.path, first.query_keys) == ("/headers", ("$top",))
    secret = harness.secrets["api_key"]
    everything = [r.model_dump_json() for r in harness.recorder.records] + [str(caught.value), caplog.text]
    assert all(secret not in text for text in everything)


def test_a_missing_credential_fails_the_call_without_sending(
    harness: Harness, connector: LoadedComponent
) -> None:
    from erp_platform._errors import CredentialError

    manifest = harness.manifest(auth=AuthConfig(scheme=AuthScheme.BEARER, credential="token"))
    services = harness.services(secrets={}.__getitem__)
    with harness.session(connector, manifest, services) as s, pytest.raises(CredentialError) as caught:
        s.call("fetch_path", {"path": "/headers"})
    assert str(caught.value) == "credential 'token' of tenant 'acme' could not be read (KeyError)"
    assert harness.erp.received() == []


def test_every_request_is_recorded(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector) as s:
        list(s.iter_pages("list_customers", {"_page_size": 10}))
    records = harness.recorder.records
    assert [(r.method, r.host, r.path, r.query_keys, r.status, r.attempt) for r in records] == [
        ("GET", f"{ERP_HOST}:{harness.erp.port}", "/odata/v4/customers", ("$top", "$skip"), 200, 1)
    ] * 3
    assert all(r.bytes > 0 and r.ms > 0 and r.tenant == "acme" and r.sdk_version == 3 for r in records)


def test_redirect_loops_stop_after_five_hops(harness: Harness, connector: LoadedComponent) -> None:
    with session(harness, connector) as s, pytest.raises(UpstreamError) as caught:
        fetch(s, "/loop")
    assert str(caught.value) == PREFIX.format(op="fetch_path") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/loop: more than 5 redirects; check the SDK's base URL"
    )
    assert caught.value.transient is False
    assert len(harness.erp.received("/loop")) == 6


def test_the_system_resolver_path_with_a_tenant_allowed_local_erp(
    harness: Harness, connector: LoadedComponent
) -> None:
    port = harness.erp.port
    manifest = harness.manifest().model_copy(
        update={"base_url": f"http://localhost:{port}", "allowed_domains": ("localhost",)}
    )
    policy = EgressPolicy(private_allowlist=(f"localhost:{port}",))
    services = harness.services(resolver=None, egress_policy=policy)
    with harness.session(connector, manifest, services) as s:
        assert len(s.call("list_customers", {"_page_size": 4}).records) == 4
    denied = harness.services(resolver=None)
    with harness.session(connector, manifest, denied) as s, pytest.raises(EgressDenied) as caught:
        s.call("list_customers", {"_page_size": 4})
    assert "host 'localhost' resolves to " in str(caught.value)


def test_an_injected_transport_replaces_the_network(harness: Harness, connector: LoadedComponent) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"value": [customer(1), customer(2)]})

    services = harness.services(transport=httpx.MockTransport(handler))
    with harness.session(connector, services=services) as s:
        page = s.call("list_customers", {"_page_size": 2})
    assert [r["id"] for r in page.records] == [1, 2]
    assert seen == [f"http://{ERP_HOST}:{harness.erp.port}/odata/v4/customers?$top=2&$skip=0"]
    assert harness.erp.received() == []
