"""Base URL, allowed domains and auth scheme of an SDK, from the spec and the caller's options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from erp_platform.sandbox._headers import host_owned_reason
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme
from sdk_builder._errors import SpecError

_VARIABLE = re.compile(r"\{([^{}]+)\}")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")


def host_problem(host: str) -> str | None:
    """Why ``host`` (lower case, from a URL) cannot be an SDK's domain, or None for a host name or IP."""
    if ":" in host:  # IPv6 literal, validated by the egress guard
        return None
    if "*" in host:
        return (
            f"its host {host!r} contains '*': a wildcard would let the SDK reach every matching host. Name "
            "the ERP's own host"
        )
    if not _HOST_NAME.match(host):
        return (
            f"its host {host!r} is not a host name (letters, digits, '-' and '.'; a server variable without "
            "a default stays as '{name}')"
        )
    return None


def normalise_base_url(url: str, *, what: str, filename: str) -> str:
    """Validate an absolute http(s) base URL and return it ending with ``/``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"{what} {url!r} is not an absolute http(s) URL. Pass --base-url https://<erp-host>/<service-root>.",
            filename=filename,
        )
    problem = host_problem(parts.hostname)
    if problem is not None:
        raise SpecError(
            f"{what} {url!r} is refused: {problem}, e.g. --base-url https://erp.example.com/api/.",
            filename=filename,
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SpecError(
            f"{what} {parts.scheme}://{parts.hostname}/... must not contain credentials, a query or a "
            "fragment. "
            "Pass only scheme, host, port and path; credentials go to the tenant's credential store.",
            filename=filename,
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}{path}"


_SANDBOX_LABEL = re.compile(r"(^|[.-])(sandbox\w*|staging|demo|mock|example)([.-]|$)", re.I)
_RESERVED_SUFFIX = (".example", ".test", ".invalid", ".localhost", ".local")
_RESERVED_HOSTS = ("example.com", "example.org", "example.net", "localhost")
_SANDBOX_PATH = re.compile(r"/(sandbox|staging|demo|mock)(/|$)", re.I)


def sandbox_reason(url: str) -> str | None:
    """Why a server URL is a vendor sandbox, demo or placeholder host (None for a real host)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in _RESERVED_HOSTS or host.endswith(tuple(f".{h}" for h in _RESERVED_HOSTS)):
        return "a placeholder host" if host != "localhost" and not host.endswith(".localhost") else "localhost"
    if host.endswith(_RESERVED_SUFFIX):
        return "a reserved test domain"
    if _SANDBOX_LABEL.search(host):
        return "a sandbox, demo or staging host"
    if _SANDBOX_PATH.search(parts.path):
        return "a sandbox, demo or staging environment"
    return None


def _server_urls(servers: Any) -> list[tuple[str, str]]:
    """(url with variables at their defaults, description) of each server."""
    urls: list[tuple[str, str]] = []
    if not isinstance(servers, list):
        return urls
    for server in servers:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        variables: dict[str, Any] = server["variables"] if isinstance(server.get("variables"), dict) else {}

        def substitute(match: re.Match[str], variables: dict[str, Any] = variables) -> str:
            var = variables.get(match.group(1))
            default = var.get("default") if isinstance(var, dict) else None
            return str(default) if default is not None else match.group(0)

        urls.append((_VARIABLE.sub(substitute, server["url"]), str(server.get("description") or "")))
    return urls


def resolve_base_url(
    servers: Any, override: str | None, *, filename: str, hint: str = ""
) -> tuple[str, tuple[str, ...], str]:
    """Return ``(base_url, allowed_domains, evidence)`` from ``--base-url`` or the spec's servers.

    The first server that is not a vendor sandbox, demo or placeholder host is used; when every server is
    one (or the spec names none, or only a relative URL), the build stops with an error naming
    ``--base-url``.
    """
    urls = _server_urls(servers)
    absolute = [(u, d) for u, d in urls if urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname]
    if override is not None:
        base = normalise_base_url(override, what="--base-url", filename=filename)
        evidence = "--base-url"
    elif absolute:
        usable = [(u, d) for u, d in absolute if sandbox_reason(u) is None]
        if not usable:
            first = absolute[0][0]
            listed = ", ".join(u for u, _ in absolute[:3])
            raise SpecError(
                f"the spec's servers ({listed}) name only {sandbox_reason(first)}, not your ERP. Pass the "
                f"ERP's real address with --base-url https://<erp-host>{urlsplit(first).path or '/'}",
                filename=filename,
            )
        index = absolute.index(usable[0])
        base = normalise_base_url(usable[0][0], what=f"servers[{index}].url", filename=filename)
        evidence = f"servers[{index}].url of the spec"
        skipped = [u for u, _ in absolute[:index]]
        if skipped:
            evidence += "; skipped " + ", ".join(f"{u} ({sandbox_reason(u)})" for u in skipped)
    elif urls:
        relative = urls[0][0]
        raise SpecError(
            f"the spec's server URL {relative!r} is relative and no --base-url was given. Pass "
            f"--base-url https://<erp-host>{relative if relative.startswith('/') else '/' + relative}.",
            filename=filename,
        )
    else:
        raise SpecError(
            f"the spec names no server and no --base-url was given. Pass --base-url https://<erp-host>/...{hint}.",
            filename=filename,
        )
    domains: list[str] = []
    for url in [base, *(u for u, _ in absolute if sandbox_reason(u) is None)]:
        host = (urlsplit(url).hostname or "").lower()
        problem = host_problem(host) if host else None
        if problem is not None:
            index = next(i for i, (u, _) in enumerate(absolute) if u == url)
            raise SpecError(
                f"servers[{index}].url {url!r} is refused: {problem} (or remove that server from the spec).",
                filename=filename,
            )
        if host and host not in domains:
            domains.append(host)
    return base, tuple(domains), evidence


def _scheme_auth(scheme: Mapping[str, Any]) -> AuthConfig | None:
    kind = str(scheme.get("type") or "").lower()
    if kind == "http":
        http = str(scheme.get("scheme") or "").lower()
        if http == "bearer":
            return AuthConfig(scheme=AuthScheme.BEARER, credential="token")
        if http == "basic":
            return AuthConfig(scheme=AuthScheme.BASIC, credential="password", username_credential="username")
        return None
    if kind in ("oauth2", "openidconnect"):
        return AuthConfig(scheme=AuthScheme.BEARER, credential="token")
    if kind == "apikey":
        where, name = str(scheme.get("in") or "").lower(), scheme.get("name")
        if not isinstance(name, str) or not name:
            return None
        if where == "header":
            if name.strip().lower() != "authorization" and host_owned_reason(name) is not None:
                return None  # an apiKey "in" Host, Content-Length, ...: unsupported, never sent
            return AuthConfig(scheme=AuthScheme.API_KEY_HEADER, credential="api_key", header_name=name)
        if where == "query":
            return AuthConfig(scheme=AuthScheme.API_KEY_QUERY, credential="api_key", param_name=name)
    return None


def resolve_auth(
    schemes: Any, security: Any, chosen: str | None, *, filename: str
) -> tuple[AuthConfig, tuple[str, ...]]:
    """Map the spec's security schemes to the host's :class:`AuthConfig` (see the brief's table)."""
    table: dict[str, Mapping[str, Any]] = (
        {str(k): v for k, v in schemes.items() if isinstance(v, Mapping)}
        if isinstance(schemes, Mapping)
        else {}
    )
    supported = {name: cfg for name, s in table.items() if (cfg := _scheme_auth(s)) is not None}
    if chosen is not None:
        if chosen not in table:
            available = ", ".join(sorted(table)) or "none"
            raise SpecError(
                f"--auth {chosen!r} is not a security scheme of the spec (available: {available}).",
                filename=filename,
            )
        if chosen not in supported:
            raise SpecError(
                f"security scheme {chosen!r} ({table[chosen].get('type')}) is not supported: use a bearer, "
                "oauth2, basic or apiKey (header or query) scheme.",
                filename=filename,
            )
        return supported[chosen], ()
    order: list[str] = []
    for requirement in security if isinstance(security, list) else []:
        if isinstance(requirement, Mapping) and len(requirement) == 1:
            name = str(next(iter(requirement)))
            if name in supported and name not in order:
                order.append(name)
    order.extend(name for name in supported if name not in order)
    warnings: list[str] = []
    if not order:
        if table:
            warnings.append(
                f"{filename}: none of the security schemes ({', '.join(sorted(table))}) is supported; "
                "the SDK "
                "sends no credentials. Supported: bearer, oauth2, basic, apiKey in a header or the query."
            )
        return AuthConfig(), tuple(warnings)
    distinct = {supported[n] for n in order}
    if len(distinct) > 1:
        warnings.append(
            f"{filename}: the spec offers several auth schemes ({', '.join(order)}); using {order[0]!r}. "
            "Pass --auth NAME to choose another."
        )
    return supported[order[0]], tuple(warnings)
