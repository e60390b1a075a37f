"""Hostile cases against credentials: they stay on their origin, and a value an ERP echoes back is masked.

Real WASM guests (the connector and the hostile guest) against two real HTTP servers: ``erp`` (the SDK's
origin) and ``other`` (another port of the same machine, reachable as ``erp.test`` on another port or as
``other.test``, a host the spec's servers could list). Every case checks what arrived on the receiving
side, so a credential that leaked would show there.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from erp_platform.sandbox import (
    EgressDenied,
    EgressPolicy,
    GuestTrap,
    LoadedComponent,
    SdkCallError,
    SdkSession,
)
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource
from tests.sandbox.conftest import ERP_HOST, OTHER_HOST, Harness

BEARER = AuthConfig(scheme=AuthScheme.BEARER, credential="token")
QUERY_KEY = AuthConfig(scheme=AuthScheme.API_KEY_QUERY, credential="api_key", param_name="api_key")
PREFIX = "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': "


def session_for(harness: Harness, component: LoadedComponent, *, auth: AuthConfig | None = None,
                allowed: tuple[str, ...] = (ERP_HOST,), base_scheme: str = "http", sdk_name: str = "test-erp",
                headers: tuple[HeaderSource, ...] = ()) -> SdkSession:
    """A session whose egress policy admits both servers under both names (an operator allowing its local
    ERPs): only the origin binding stands between the credential and the other port."""
    manifest = harness.manifest(allowed=allowed, auth=auth, sdk_name=sdk_name, headers=headers)
    manifest = manifest.model_copy(update={"base_url": f"{base_scheme}://{ERP_HOST}:{harness.erp.port}"})
    allow = tuple(f"{host}:{server.port}" for host in (ERP_HOST, OTHER_HOST)
                  for server in (harness.erp, harness.other))
    return harness.session(component, manifest, harness.services(egress_policy=EgressPolicy(
        private_allowlist=allow)))


def credentials_arrived(harness: Harness) -> list[str]:
    """Every header or query value carrying one of the harness's secrets that reached the other server."""
    found = []
    for request in harness.other.received():
        for secret in harness.secrets.values():
            if secret in request.path or any(secret in value for value in request.headers.values()):
                found.append(f"{request.path} {request.headers}")
    return found


# -- 1. credentials bound to their origin --------------------------------------------------------------
@pytest.mark.parametrize("host", [ERP_HOST, OTHER_HOST], ids=["another-port-same-host", "another-listed-host"])
def test_a_next_link_to_another_origin_is_refused(harness: Harness, connector: LoadedComponent, host: str) -> None:
    harness.erp.state.next_origin = f"http://{host}:{harness.other.port}"
    with session_for(harness, connector, auth=BEARER, allowed=(ERP_HOST, OTHER_HOST)) as session:
        first = session.call("list_customers", {"_page_size": 10})
        assert len(first.records) == 10 and first.next is not None
        with pytest.raises(EgressDenied) as caught:
            session.call("list_customers", {"_page_size": 10, "_next": first.next})
    assert str(caught.value) == (
        f"{PREFIX}egress denied for http://{host}:{harness.other.port}/odata/v4/customers: origin "
        f"http://{host}:{harness.other.port} is not http://{ERP_HOST}:{harness.erp.port}, the origin the SDK's "
        "credentials are bound to (its base URL). A next-page link or `_next` token pointing at another origin is "
        "refused, so that credentials never leave their origin; if the ERP moved, build the SDK again with "
        "--base-url"
    )
    assert harness.other.received() == []
    refused = harness.recorder.records[-1]
    assert (refused.host, refused.status) == (f"{host}:{harness.other.port}", None)
    assert refused.error is not None and refused.error.startswith("EgressDenied: egress denied for ")


def test_a_next_token_passed_by_the_caller_to_another_origin_is_refused(
    harness: Harness, connector: LoadedComponent
) -> None:
    forged = f"http://{OTHER_HOST}:{harness.other.port}/odata/v4/customers?$top=5&$skip=0"
    headers = (HeaderSource(name="X-Api-Key", credential="api_key"),)
    with session_for(harness, connector, auth=BEARER, allowed=(ERP_HOST, OTHER_HOST), headers=headers) as session:
        with pytest.raises(EgressDenied, match=r"is not http://erp\.test:\d+, the origin the SDK's credentials"):
            session.call("list_customers", {"_next": forged})
        assert len(session.call("list_customers", {"_page_size": 5}).records) == 5  # its own origin still works
    assert harness.other.received() == []
    assert credentials_arrived(harness) == []


def test_a_downgrade_from_https_to_http_on_the_same_host_and_port_is_refused(
    harness: Harness, connector: LoadedComponent
) -> None:
    downgrade = f"http://{ERP_HOST}:{harness.erp.port}/odata/v4/customers?$top=5&$skip=0"
    with session_for(harness, connector, auth=BEARER, base_scheme="https") as session, \
            pytest.raises(EgressDenied) as caught:
        session.call("list_customers", {"_next": downgrade})
    assert f"origin http://{ERP_HOST}:{harness.erp.port} is not https://{ERP_HOST}:{harness.erp.port}" in str(
        caught.value)
    assert harness.erp.received() == []


def test_an_sdk_without_credentials_may_follow_a_next_link_to_another_allowed_origin(
    harness: Harness, connector: LoadedComponent
) -> None:
    harness.erp.state.next_origin = f"http://{OTHER_HOST}:{harness.other.port}"
    with session_for(harness, connector, allowed=(ERP_HOST, OTHER_HOST)) as session:
        first = session.call("list_customers", {"_page_size": 2})
        second = session.call("list_customers", {"_page_size": 2, "_next": first.next})
    assert [r["id"] for r in second.records] == [3]  # the other server holds 3 rows
    assert len(harness.other.received("/odata/v4/customers")) == 1


# -- 3. secrets echoed back are masked ----------------------------------------------------------------
def test_an_api_key_repeated_in_the_next_link_never_leaves_the_host(
    harness: Harness, connector: LoadedComponent
) -> None:
    key = harness.secrets["api_key"]
    with session_for(harness, connector, auth=QUERY_KEY) as session:
        pages = list(session.iter_pages("list_customers", {"_page_size": 10}))
    assert [len(p.records) for p in pages] == [10, 10, 5]
    tokens = [p.next for p in pages[:-1]]
    assert all(t is not None and key not in t and "api_key" not in t for t in tokens), tokens
    assert tokens[0] == f"http://{ERP_HOST}:{harness.erp.port}/odata/v4/customers?$top=10&$skip=10"
    received = harness.erp.received("/odata/v4/customers")
    assert len(received) == 3
    assert all(r.path.count("api_key=") == 1 and r.path.endswith(f"api_key={key}") for r in received)
    assert all(key not in str(record.model_dump()) for record in harness.recorder.records)


def test_an_erp_error_quoting_the_api_key_is_masked(harness: Harness, connector: LoadedComponent) -> None:
    key = harness.secrets["api_key"]
    with session_for(harness, connector, auth=QUERY_KEY) as session, pytest.raises(SdkCallError) as caught:
        session.call("fetch_path", {"path": "/echo-error"})
    message = str(caught.value)
    assert key not in message and "api_key=*****" in message
    assert key not in caught.value.guest_error.message
    [arrived] = harness.erp.received("/echo-error")
    assert arrived.path.endswith(f"api_key={key}")  # the ERP did get (and quote) the key


def test_a_guest_cannot_log_an_echoed_key(harness: Harness, hostile: LoadedComponent,
                                          caplog: pytest.LogCaptureFixture) -> None:
    key = harness.secrets["api_key"]
    manifest = harness.manifest(sdk_name="hostile", auth=QUERY_KEY)
    with caplog.at_level(logging.INFO, logger="erp_platform.sandbox.guest"), \
            harness.session(hostile, manifest) as session:
        page = session.call("log_echo", {})
    [line] = page.stats.logs
    assert key not in line.message and "api_key=*****" in line.message
    assert key not in caplog.text and "api_key=*****" in caplog.text


def test_a_guest_replaying_an_echoed_key_leaks_it_nowhere(harness: Harness, hostile: LoadedComponent) -> None:
    key = harness.secrets["api_key"]
    manifest = harness.manifest(sdk_name="hostile", auth=QUERY_KEY)
    with harness.session(hostile, manifest) as session:
        with pytest.raises(GuestTrap) as caught:
            session.call("replay_echo", {})
        returned = session.call("learn_and_return", {})
    assert key not in str(caught.value) and "learned *****" in str(caught.value)
    assert returned.records == [{"id": 1, "echo": "/echo?api_key=*****"}]
    trail: list[dict[str, Any]] = [r.model_dump() for r in harness.recorder.records]
    assert [r["path"] for r in trail if r["path"].startswith("/missing/")] == ["/missing/*****"]
    assert all(key not in str(r) for r in trail)
