"""Egress rules as tables: URL forms and addresses allowed or denied, each with its exact message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from erp_platform.sandbox import AuthConfig, AuthScheme, CallContext, EgressDenied, EgressPolicy, HeaderSource
from erp_platform.sandbox._addresses import parse_ip_literal, refused_class
from erp_platform.sandbox._egress import EgressGuard
from erp_platform.sandbox._manifest import SdkManifest

CTX = CallContext("acme", "bc", 7, "list_customers")
PREFIX = "tenant 'acme', SDK 'bc' v7, operation 'list_customers': egress denied for "
REFUSED = (
    "; private, loopback, link-local, CGNAT, multicast, unspecified and metadata addresses are refused "
    "unless the tenant's egress policy allows "
)

DNS = {
    "api.erp.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "eu.files.example.com": ["93.184.216.35"],
    "internal.files.example.com": ["10.1.2.3"],
    "mixed.files.example.com": ["93.184.216.36", "192.168.1.20"],
    "mapped.files.example.com": ["::ffff:127.0.0.1"],
    "local.files.example.com": ["127.0.0.1"],
}


def guard(policy: EgressPolicy | None = None) -> EgressGuard:
    manifest = SdkManifest(
        tenant="acme",
        sdk_name="bc",
        sdk_version=7,
        base_url="https://api.erp.example.com/odata/v4/",
        allowed_domains=("api.erp.example.com", "*.files.example.com", "127.0.0.1", "10.0.0.8"),
        auth=AuthConfig(scheme=AuthScheme.API_KEY_HEADER, credential="api_key", header_name="X-API-Key"),
        required_headers=(HeaderSource(name="X-ERP-Tenant", credential="erp_tenant"),),
    )
    return EgressGuard(manifest, policy or EgressPolicy(), lambda host, port: DNS[host])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/customers?$top=10", "https://api.erp.example.com/odata/v4/customers?$top=10"),
        ("customers", "https://api.erp.example.com/odata/v4/customers"),
        ("companies(1)/customers", "https://api.erp.example.com/odata/v4/companies(1)/customers"),
        ("?$metadata", "https://api.erp.example.com/odata/v4?$metadata"),
        ("https://API.erp.example.com./x", "https://api.erp.example.com/x"),
        ("https://api.erp.example.com:8443/x", "https://api.erp.example.com:8443/x"),
        ("https://eu.files.example.com/f", "https://eu.files.example.com/f"),
        ("//eu.files.example.com/f", "https://eu.files.example.com/f"),
        ("http://api.erp.example.com/x#frag", "http://api.erp.example.com/x"),
        (
            "/customers?$filter=name eq 'A B'",
            "https://api.erp.example.com/odata/v4/customers?$filter=name eq 'A B'",
        ),
    ],
)
def test_allowed_urls(url: str, expected: str) -> None:
    assert guard().resolve_url(url, CTX).url == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://evil.example.net/x", "https://evil.example.net/x: host 'evil.example.net' is not in the "
         "SDK's allowed domains (api.erp.example.com, *.files.example.com, 127.0.0.1, 10.0.0.8)"),
        ("https://files.example.com/x", "https://files.example.com/x: host 'files.example.com' is not in "
         "the SDK's allowed domains (api.erp.example.com, *.files.example.com, 127.0.0.1, 10.0.0.8)"),
        ("https://api.erp.example.com.evil.net/", "https://api.erp.example.com.evil.net/: host "
         "'api.erp.example.com.evil.net' is not in the SDK's allowed domains (api.erp.example.com, "
         "*.files.example.com, 127.0.0.1, 10.0.0.8)"),
        ("ftp://api.erp.example.com/x", "ftp://api.erp.example.com/x: scheme 'ftp' is not allowed (only http "
         "and https)"),
        ("file:///etc/passwd", "file:///etc/passwd: scheme 'file' is not allowed (only http and https)"),
        ("gopher://127.0.0.1:6379/_INFO", "gopher://127.0.0.1:6379/_INFO: scheme 'gopher' is not allowed "
         "(only http and https)"),
        ("https://user:pw@api.erp.example.com/", "https://api.erp.example.com/: URL contains user info "
         "('user@host'); the host attaches credentials, never the URL"),
        ("https://api.erp.example.com@evil.net/", "https://evil.net/: URL contains user info ('user@host'); "
         "the host attaches credentials, never the URL"),
        ("https://api.erp.example.com:99999/", "https://api.erp.example.com:99999/: URL has an invalid port "
         "(Port out of range 0-65535)"),
        ("/x\r\nHost: evil", "'/x\\r\\nHost: evil': URL contains a control or non-printable character "
         "('\\r' at index 2); percent-encode it (CR/LF injection is refused)"),
        ("/x\x00", "'/x\\x00': URL contains a control or non-printable character ('\\x00' at index 2); "
         "percent-encode it (CR/LF injection is refused)"),
        ("https://256.1.1.1/", "https://256.1.1.1/: '256.1.1.1' is not a valid IPv4 address (a part is out "
         "of range)"),
    ],
)
def test_denied_urls(url: str, message: str) -> None:
    with pytest.raises(EgressDenied) as caught:
        guard().resolve_url(url, CTX)
    assert str(caught.value) == PREFIX + message


@pytest.mark.parametrize(
    ("url", "shown", "address", "what", "entry"),
    [
        ("http://127.0.0.1/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://127.1/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://2130706433/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://0177.0.0.1/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://0x7f.0.0.1/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://0x7f000001/", "http://127.0.0.1/", "127.0.0.1", "a loopback address", "127.0.0.1:80"),
        ("http://[::1]:8080/", "http://[::1]:8080/", "::1", "a loopback address", "[::1]:8080"),
        ("http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "::ffff:7f00:1",
         "a loopback address (embedded in IPv6 ::ffff:7f00:1)", "[::ffff:7f00:1]:80"),
        ("http://[::ffff:a9fe:a9fe]/", "http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe",
         "a cloud metadata address (embedded in IPv6 ::ffff:a9fe:a9fe)", "[::ffff:a9fe:a9fe]:80"),
        ("http://169.254.169.254/latest/meta-data/", "http://169.254.169.254/latest/meta-data/",
         "169.254.169.254", "a cloud metadata address", "169.254.169.254:80"),
        ("http://169.254.1.1/", "http://169.254.1.1/", "169.254.1.1", "a link-local address",
         "169.254.1.1:80"),
        ("http://0.0.0.0/", "http://0.0.0.0/", "0.0.0.0", "an unspecified address", "0.0.0.0:80"),
        ("http://0/", "http://0.0.0.0/", "0.0.0.0", "an unspecified address", "0.0.0.0:80"),
        ("http://[::]/", "http://[::]/", "::", "an unspecified address", "[::]:80"),
        ("http://10.0.0.8/", "http://10.0.0.8/", "10.0.0.8", "a private address", "10.0.0.8:80"),
        ("http://192.168.0.1/", "http://192.168.0.1/", "192.168.0.1", "a private address",
         "192.168.0.1:80"),
        ("http://172.16.5.4/", "http://172.16.5.4/", "172.16.5.4", "a private address", "172.16.5.4:80"),
        ("http://100.64.0.1/", "http://100.64.0.1/", "100.64.0.1", "a carrier-grade NAT address",
         "100.64.0.1:80"),
        ("http://100.100.100.200/", "http://100.100.100.200/", "100.100.100.200",
         "a cloud metadata address", "100.100.100.200:80"),
        ("http://224.0.0.1/", "http://224.0.0.1/", "224.0.0.1", "a multicast address", "224.0.0.1:80"),
        ("http://[fd00:ec2::254]/", "http://[fd00:ec2::254]/", "fd00:ec2::254", "a cloud metadata address",
         "[fd00:ec2::254]:80"),
        ("http://[fe80::1]/", "http://[fe80::1]/", "fe80::1", "a link-local address", "[fe80::1]:80"),
        ("http://[fc00::5]/", "http://[fc00::5]/", "fc00::5", "a private address", "[fc00::5]:80"),
        ("http://[64:ff9b::a00:1]/", "http://[64:ff9b::a00:1]/", "64:ff9b::a00:1",
         "a private address (embedded in IPv6 64:ff9b::a00:1)", "[64:ff9b::a00:1]:80"),
        ("http://[2002:7f00:1::]/", "http://[2002:7f00:1::]/", "2002:7f00:1::",
         "a loopback address (embedded in IPv6 2002:7f00:1::)", "[2002:7f00:1::]:80"),
    ],
)
def test_private_address_literals_in_every_spelling(
    url: str, shown: str, address: str, what: str, entry: str
) -> None:
    with pytest.raises(EgressDenied) as caught:
        guard().resolve_url(url, CTX)
    assert str(caught.value) == f"{PREFIX}{shown}: {address} is {what}{REFUSED}'{entry}'"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("internal.files.example.com", "host 'internal.files.example.com' resolves to 10.1.2.3, a private "
         "address"),
        ("mixed.files.example.com", "host 'mixed.files.example.com' resolves to 192.168.1.20, a private "
         "address"),
        ("mapped.files.example.com", "host 'mapped.files.example.com' resolves to ::ffff:7f00:1, a "
         "loopback address (embedded in IPv6 ::ffff:7f00:1)"),
        ("local.files.example.com", "host 'local.files.example.com' resolves to 127.0.0.1, a loopback "
         "address"),
    ],
)
def test_names_resolving_to_private_addresses_are_refused_at_connect(host: str, message: str) -> None:
    where = f"GET https://{host}/x"
    with pytest.raises(EgressDenied) as caught:
        guard().resolve_and_check(host, 443, CTX, where)
    assert str(caught.value) == f"{PREFIX}{where}: {message}{REFUSED}'{host}:443'"


def test_public_names_resolve_to_every_checked_address() -> None:
    assert guard().resolve_and_check("api.erp.example.com", 443, CTX, "x") == [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
    ]


def test_the_tenant_policy_allows_exact_host_and_port_only() -> None:
    policy = EgressPolicy(private_allowlist=("LOCAL.files.example.com:443", "127.0.0.1:8900", "[::1]:8900"))
    allowed = guard(policy)
    assert allowed.resolve_and_check("local.files.example.com", 443, CTX, "x") == ["127.0.0.1"]
    assert allowed.resolve_url("http://127.0.0.1:8900/x", CTX).url == "http://127.0.0.1:8900/x"
    assert allowed.resolve_url("http://2130706433:8900/x", CTX).url == "http://127.0.0.1:8900/x"
    with pytest.raises(EgressDenied, match=r"allows '127\.0\.0\.1:8901'"):
        allowed.resolve_url("http://127.0.0.1:8901/x", CTX)
    with pytest.raises(EgressDenied, match=r"allows 'local\.files\.example\.com:8443'"):
        allowed.resolve_and_check("local.files.example.com", 8443, CTX, "x")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("localhost", "private_allowlist entry 'localhost' must be 'host:port', e.g. 'localhost:8900'"),
        ("localhost:0", "private_allowlist entry 'localhost:0' must be 'host:port', e.g. 'localhost:8900'"),
        (":80", "private_allowlist entry ':80' must be 'host:port', e.g. 'localhost:8900'"),
        ("bad host:80", "private_allowlist entry 'bad host:80' has an invalid host name"),
        ("300.1.1.1:80", "private_allowlist entry '300.1.1.1:80': '300.1.1.1' is not a valid IPv4 address "
         "(a part is out of range)"),
    ],
)
def test_policy_entries_are_validated(entry: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EgressPolicy(private_allowlist=(entry,))
    assert caught.value.errors()[0]["msg"] == f"Value error, {message}"


def test_policy_entries_are_canonical() -> None:
    policy = EgressPolicy(private_allowlist=("LocalHost.:8900", "0177.0.0.1:80", "[0:0::1]:81"))
    assert policy.private_allowlist == ("localhost:8900", "127.0.0.1:80", "[::1]:81")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("Authorization", "Bearer stolen")], "header 'Authorization' may not be set by the SDK: the host "
         "sets credentials, required headers and hop-by-hop headers itself"),
        ([("cookie", "a=b")], "header 'cookie' may not be set by the SDK: the host sets credentials, "
         "required headers and hop-by-hop headers itself"),
        ([("Host", "evil")], "header 'Host' may not be set by the SDK: the host sets credentials, required "
         "headers and hop-by-hop headers itself"),
        ([("Proxy-Authorization", "x")], "header 'Proxy-Authorization' may not be set by the SDK: the host "
         "sets credentials, required headers and hop-by-hop headers itself"),
        ([("X-Forwarded-For", "1.2.3.4")], "header 'X-Forwarded-For' may not be set by the SDK: the host "
         "sets credentials, required headers and hop-by-hop headers itself"),
        ([("x-api-key", "guess")], "header 'x-api-key' may not be set by the SDK: the host sets "
         "credentials, required headers and hop-by-hop headers itself"),
        ([("X-ERP-Tenant", "OTHER-TENANT")], "header 'X-ERP-Tenant' may not be set by the SDK: the host "
         "sets credentials, required headers and hop-by-hop headers itself"),
        ([("Transfer-Encoding", "chunked")], "header 'Transfer-Encoding' may not be set by the SDK: the "
         "host sets credentials, required headers and hop-by-hop headers itself"),
        ([("X-Ok", "a\r\nSet-Cookie: x")], "header 'X-Ok' value contains '\\r': only printable ASCII is "
         "allowed (CR/LF injection is refused)"),
        ([("X-Ok", "a\nb")], "header 'X-Ok' value contains '\\n': only printable ASCII is allowed (CR/LF "
         "injection is refused)"),
        ([("X-Ok", "caf\u00e9")], "header 'X-Ok' value contains a non-ASCII character: only printable ASCII "
         "is allowed (CR/LF injection is refused)"),
        ([("X-Bad\r\nInjected", "1")], "header name 'X-Bad\\r\\nInjected' is not a valid HTTP token"),
        ([("X Space", "1")], "header name 'X Space' is not a valid HTTP token"),
    ],
)
def test_denied_headers(headers: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(EgressDenied) as caught:
        guard().check_headers(headers, CTX, "GET https://api.erp.example.com/x")
    assert str(caught.value) == f"{PREFIX}GET https://api.erp.example.com/x: {message}"


def test_allowed_headers_pass_unchanged() -> None:
    headers = [
        ("Accept", "application/json"), ("Idempotency-Key", "k-1"), ("Prefer", "odata.maxpagesize=50\t")
    ]
    assert guard().check_headers(headers, CTX, "x") == headers


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "GET\r\nX"])
def test_denied_methods(method: str) -> None:
    with pytest.raises(EgressDenied) as caught:
        guard().check_method(method, CTX)
    assert str(caught.value) == (
        f"tenant 'acme', SDK 'bc' v7, operation 'list_customers': method {method!r} is not allowed (use one "
        "of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.258", "10.1.1.2"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7F.0x0.0x0.0x1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("12abc", None),
    ],
)
def test_ip_literal_forms(text: str, expected: str | None) -> None:
    parsed = parse_ip_literal(text)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_not_refused(address: str) -> None:
    parsed = parse_ip_literal(address)
    assert parsed is not None
    assert refused_class(parsed) is None
