"""Egress rules: which URLs, headers and addresses a guest's request may reach.

The guest only asks; :class:`EgressGuard` decides. It resolves the guest's URL against the SDK's base URL,
allows only the SDK's ``allowed_domains``, refuses private / loopback / link-local / CGNAT / multicast /
unspecified / metadata addresses (in every IPv4 and IPv6 spelling) unless the tenant's
:class:`EgressPolicy` allows that ``host:port``, and refuses smuggling characters and headers the host owns.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erp_platform.sandbox._addresses import IPAddress, parse_ip_literal, refused_class
from erp_platform.sandbox._errors import CallContext, EgressDenied
from erp_platform.sandbox._manifest import SdkManifest

#: ``(host, port) -> IP address strings``; the default asks the system resolver.
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "cookie2",
        "host",
        "forwarded",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
    }
)
_FORBIDDEN_PREFIXES = ("proxy-", "x-forwarded-")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 8192


def _first_bad_char(text: str) -> int | None:
    """Index of the first control or non-printable character (space is fine), or None."""
    if text.isprintable():
        return None
    return next(i for i, c in enumerate(text) if not c.isprintable())


#: ``(scheme, host, port)``: what a credential is bound to.
Origin = tuple[str, str, int]


def origin_text(origin: Origin) -> str:
    """``scheme://host:port`` of an origin, the port always shown (``https://erp.example.com:443``)."""
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def origin_of(url: str) -> Origin:
    """The canonical origin of an absolute URL (lower-case or IDNA host, canonical IP, explicit port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        literal = parse_ip_literal(host)
    except ValueError:
        literal = None
    if literal is not None:
        host = str(literal)
    elif not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    return (scheme, host, port)


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (every A and AAAA address)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class EgressPolicy(BaseModel):
    """Per-tenant exceptions to the private-address rule, e.g. ``("localhost:8900",)`` for local ERPs.

    Each entry is ``host:port`` (``[v6]:port`` for IPv6); it matches the URL's host as written
    (lower case) or its canonical IP form. The platform stores this per tenant and audits changes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    private_allowlist: tuple[str, ...] = Field(
        (), description="host:port pairs that may resolve to private / loopback addresses"
    )

    @field_validator("private_allowlist")
    @classmethod
    def _check_entries(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_canonical_entry(entry) for entry in entries)

    def allows(self, host: str, port: int) -> bool:
        """True when the tenant allows private addresses for ``host:port``."""
        return _entry(host, port) in self.private_allowlist


def _entry(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _canonical_entry(entry: str) -> str:
    host, sep, port_text = entry.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"private_allowlist entry {entry!r} must be 'host:port', e.g. 'localhost:8900'")
    try:
        literal = parse_ip_literal(host)
    except ValueError as exc:
        raise ValueError(f"private_allowlist entry {entry!r}: {exc}") from None
    if literal is None and (host.startswith("[") or not re.match(r"^[A-Za-z0-9.\-_]+$", host)):
        raise ValueError(f"private_allowlist entry {entry!r} has an invalid host name")
    name = str(literal) if literal is not None else host.lower().rstrip(".")
    return _entry(name, int(port_text))


@dataclass(frozen=True)
class CheckedUrl:
    """A URL that passed the guard: the canonical form to send and what it reveals in records."""

    scheme: str
    host: str  # lower case name or canonical IP (no brackets)
    port: int
    target: str  # path and query, e.g. "/odata/v4/customers?$top=10"

    @property
    def origin(self) -> Origin:
        return (self.scheme, self.host, self.port)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.target}"

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query_keys(self) -> tuple[str, ...]:
        _, _, query = self.target.partition("?")
        return tuple(part.split("=", 1)[0] for part in query.split("&") if part)

    @property
    def netloc(self) -> str:
        """``host[:port]`` (port only when not the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """Scheme, host and path for messages: never query values (they may hold keys)."""
        return f"{self.scheme}://{self.netloc}{self.path}"


class EgressGuard:
    """Checks one SDK's requests against its manifest and the tenant's egress policy."""

    def __init__(
        self, manifest: SdkManifest, policy: EgressPolicy, resolver: Resolver | None = None
    ) -> None:
        self._manifest = manifest
        self._policy = policy
        self._resolver: Resolver = resolver or system_resolver
        self._base = manifest.base_url.rstrip("/")
        self._bound = origin_of(self._base)
        self._exact = frozenset(d.lower().rstrip(".") for d in manifest.allowed_domains if "*" not in d)
        self._suffixes = tuple(
            d.lower().rstrip(".")[1:] for d in manifest.allowed_domains if d.startswith("*.")
        )
        forbidden = set(_FORBIDDEN_HEADERS)
        if manifest.auth.header_name:
            forbidden.add(manifest.auth.header_name.lower())
        forbidden.update(h.name.lower() for h in manifest.required_headers)
        self._forbidden_headers = frozenset(forbidden)

    @property
    def bound_origin(self) -> Origin:
        """The origin of the SDK's base URL: the only one its credentials are ever sent to."""
        return self._bound

    @property
    def base_scheme(self) -> str:
        return urlsplit(self._base).scheme.lower()

    def check_method(self, method: str, context: CallContext) -> str:
        """Return the upper-case method, or raise EgressDenied for methods outside the allowed set."""
        upper = method.upper()
        if upper not in ALLOWED_METHODS:
            raise EgressDenied(
                f"method {method[:20]!r} is not allowed (use one of {', '.join(sorted(ALLOWED_METHODS))})",
                context=context,
            )
        return upper

    def resolve_url(self, url: str, context: CallContext) -> CheckedUrl:
        """Resolve a guest URL (relative to the base URL, or absolute) and check it without DNS."""
        if len(url) > MAX_URL_LENGTH:
            raise self._deny(context, f"{url[:60]!r}...", f"URL is longer than {MAX_URL_LENGTH} characters")
        self._check_url_chars(url, context)
        if _SCHEME.match(url) or url.startswith("//"):
            absolute = url if not url.startswith("//") else f"{self.base_scheme}:{url}"
        elif url.startswith("?"):
            absolute = self._base + url
        else:
            absolute = f"{self._base}/{url.lstrip('/')}"
        return self.check_absolute(absolute, context)

    def check_absolute(self, url: str, context: CallContext) -> CheckedUrl:
        """Check an absolute URL (the guest's, or a redirect's Location)."""
        self._check_url_chars(url, context)
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            netloc = parts.netloc
        except ValueError as exc:
            raise self._deny(context, repr(url[:80]), f"URL cannot be parsed ({exc})") from None
        shown = f"{scheme}://{netloc}{parts.path}"[:200]
        if scheme not in _DEFAULT_PORTS:
            raise self._deny(context, shown, f"scheme {scheme!r} is not allowed (only http and https)")
        if "@" in netloc:
            raise self._deny(
                context, f"{scheme}://{shown.split('@', 1)[-1]}",
                "URL contains user info ('user@host'); the host attaches credentials, never the URL",
            )
        if "\\" in netloc:
            raise self._deny(context, shown, "URL host contains a backslash")
        try:
            hostname = parts.hostname or ""
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError as exc:
            raise self._deny(context, shown, f"URL has an invalid port ({exc})") from None
        if not hostname:
            raise self._deny(context, shown or repr(url[:80]), "URL has no host")
        host, literal = self._canonical_host(hostname, context, shown)
        target = parts.path or "/"
        if not target.startswith("/"):
            target = "/" + target
        if parts.query:
            target = f"{target}?{parts.query}"
        checked = CheckedUrl(scheme=scheme, host=host, port=port, target=target)
        if literal is not None:
            self._check_address(checked, literal, context, resolved=False)
        if not self.domain_allowed(host):
            raise self._deny(
                context, checked.display,
                f"host {host!r} is not in the SDK's allowed domains "
                f"({', '.join(self._manifest.allowed_domains) or 'none granted'})",
            )
        return checked

    def rough_parts(self, url: str) -> tuple[str, str, tuple[str, ...]]:
        """Best-effort ``(host[:port], path, query names)`` of a refused URL, for the audit trail."""
        clean = "".join(c if c.isprintable() else "?" for c in url[:MAX_URL_LENGTH])
        if not (_SCHEME.match(clean) or clean.startswith("//")):
            clean = f"{self._base}/{clean.lstrip('/')}"
        try:
            parts = urlsplit(clean)
        except ValueError:
            return "", "", ()
        keys = tuple(p.split("=", 1)[0] for p in parts.query.split("&") if p)
        return parts.netloc.rsplit("@", 1)[-1][:200], parts.path[:500], keys[:50]

    def domain_allowed(self, host: str) -> bool:
        """True when ``host`` (lower case, no trailing dot) is one of the SDK's allowed domains."""
        if host in self._exact:
            return True
        return any(host.endswith(suffix) and host != suffix[1:] for suffix in self._suffixes)

    def check_headers(
        self, headers: Sequence[tuple[str, str]], context: CallContext, display: str
    ) -> list[tuple[str, str]]:
        """Refuse invalid names, CR/LF or control characters in values and headers the host owns."""
        checked: list[tuple[str, str]] = []
        for name, value in headers:
            if not _TOKEN.match(name):
                raise self._deny(context, display, f"header name {name[:60]!r} is not a valid HTTP token")
            lower = name.lower()
            if lower in self._forbidden_headers or lower.startswith(_FORBIDDEN_PREFIXES):
                raise self._deny(
                    context, display,
                    f"header {name!r} may not be set by the SDK: the host sets credentials, "
                    "required headers and hop-by-hop headers itself",
                )
            bad = _first_bad_char(value.replace("\t", " "))
            if bad is not None or not value.isascii():
                shown = repr(value[bad]) if bad is not None else "a non-ASCII character"
                raise self._deny(
                    context, display,
                    f"header {name!r} value contains {shown}: only printable ASCII is allowed "
                    "(CR/LF injection is refused)",
                )
            checked.append((name, value))
        return checked

    def resolve_and_check(self, host: str, port: int, context: CallContext, display: str) -> list[str]:
        """Resolve ``host`` now and return the addresses that may be connected to (all of them)."""
        checked = CheckedUrl(scheme="https", host=host, port=port, target="/")
        literal = parse_ip_literal(host)
        if literal is not None:
            self._check_address(checked, literal, context, resolved=False)
            return [str(literal)]
        if not self.domain_allowed(host):
            raise self._deny(context, display, f"host {host!r} is not in the SDK's allowed domains")
        addresses = [parse_ip_literal(a) for a in self._resolver(host, port)]
        found = [a for a in addresses if a is not None]
        if not found:
            raise OSError(f"host {host!r} did not resolve to any address")
        for address in found:
            self._check_address(checked, address, context, resolved=True, display=display)
        return [str(a) for a in found]

    def _check_url_chars(self, url: str, context: CallContext) -> None:
        bad = _first_bad_char(url)
        if bad is not None:
            raise self._deny(
                context, repr(url[:80]),
                f"URL contains a control or non-printable character ({url[bad]!r} at index {bad}); "
                "percent-encode it (CR/LF injection is refused)",
            )

    def _canonical_host(
        self, hostname: str, context: CallContext, shown: str
    ) -> tuple[str, IPAddress | None]:
        name = hostname.lower().rstrip(".")
        try:
            literal = parse_ip_literal(name)
        except ValueError as exc:
            raise self._deny(context, shown, str(exc)) from None
        if literal is not None:
            return str(literal), literal
        if not name.isascii():
            try:
                name = name.encode("idna").decode("ascii")
            except UnicodeError:
                raise self._deny(context, shown, f"host {hostname!r} is not a valid domain name") from None
        if not re.match(r"^[a-z0-9_\-.]+$", name) or ".." in name:
            raise self._deny(context, shown, f"host {hostname!r} is not a valid domain name")
        return name, None

    def _check_address(
        self,
        checked: CheckedUrl,
        address: IPAddress,
        context: CallContext,
        *,
        resolved: bool,
        display: str | None = None,
    ) -> None:
        reason = refused_class(address)
        if reason is None or self._policy.allows(checked.host, checked.port):
            return
        where = (
            f"host {checked.host!r} resolves to {address}, {reason}" if resolved else f"{address} is {reason}"
        )
        raise self._deny(
            context, display or checked.display,
            f"{where}; private, loopback, link-local, CGNAT, multicast, unspecified and metadata "
            f"addresses are refused unless the tenant's egress policy allows "
            f"'{_entry(checked.host, checked.port)}'",
        )

    @staticmethod
    def _deny(context: CallContext, where: str, reason: str) -> EgressDenied:
        return EgressDenied(f"egress denied for {where}: {reason}", context=context)
