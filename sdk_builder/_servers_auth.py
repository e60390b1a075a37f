"""Base URL, allowed domains and auth scheme of an SDK, from the spec and the caller's options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from erp_platform.sandbox._manifest import AuthConfig, AuthScheme
from sdk_builder._errors import SpecError

_VARIABLE = re.compile(r"\{([^{}]+)\}")


def normalise_base_url(url: str, *, what: str, filename: str) -> str:
    """Validate an absolute http(s) base URL and return it ending with ``/``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(
            f"{what} {url!r} is not an absolute http(s) URL. Pass --base-url https://<erp-host>/<service-root>.",
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


def _server_urls(servers: Any) -> list[str]:
    urls: list[str] = []
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

        urls.append(_VARIABLE.sub(substitute, server["url"]))
    return urls


def resolve_base_url(
    servers: Any, override: str | None, *, filename: str, hint: str = ""
) -> tuple[str, tuple[str, ...]]:
    """Return ``(base_url, allowed_domains)`` from the caller's ``base_url`` or the spec's servers."""
    urls = _server_urls(servers)
    absolute = [u for u in urls if urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname]
    if override is not None:
        base = normalise_base_url(override, what="--base-url", filename=filename)
    elif absolute:
        base = normalise_base_url(absolute[0], what="servers[0].url", filename=filename)
    elif urls:
        raise SpecError(
            f"the spec's server URL {urls[0]!r} is relative and no --base-url was given. Pass "
            f"--base-url https://<erp-host>{urls[0] if urls[0].startswith('/') else '/' + urls[0]}.",
            filename=filename,
        )
    else:
        raise SpecError(
            f"the spec names no server and no --base-url was given. Pass --base-url https://<erp-host>/...{hint}.",
            filename=filename,
        )
    domains: list[str] = []
    for url in [base, *absolute]:
        host = (urlsplit(url).hostname or "").lower()
        if host and host not in domains:
            domains.append(host)
    return base, tuple(domains)


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
