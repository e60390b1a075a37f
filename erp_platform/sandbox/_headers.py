"""The headers the host owns: nobody but the host sets them, neither a build option nor the guest.

This is the one list. ``erp sdk build --header``, the SDK manifest (checked whenever a session opens) and
the egress guard (every guest request) all refuse these names with the reason given here.
"""

from __future__ import annotations

_CONNECTION = "a hop-by-hop header: the host manages the connection itself"
_FRAMING = "the host frames the request body itself"
_CREDENTIALS = "the host attaches credentials by the SDK's auth scheme (`erp credentials set`)"

#: Lower-case header name -> why the host owns it.
HOST_OWNED_HEADERS: dict[str, str] = {
    "host": "the sandbox host sets it from the SDK's base URL",
    "authorization": _CREDENTIALS,
    "proxy-authorization": _CREDENTIALS,
    "cookie": "cookies carry sessions and credentials; only a spec that declares a Cookie can have one",
    "cookie2": "cookies carry sessions and credentials",
    "content-length": _FRAMING,
    "transfer-encoding": _FRAMING,
    "expect": _FRAMING,
    "connection": _CONNECTION,
    "keep-alive": _CONNECTION,
    "te": _CONNECTION,
    "trailer": _CONNECTION,
    "upgrade": _CONNECTION,
    "forwarded": "the host does not forward requests on anyone's behalf",
}
#: Lower-case prefixes of host-owned header names -> why.
HOST_OWNED_PREFIXES: dict[str, str] = {
    "proxy-": "proxy headers belong to the connection, which the host manages",
    "x-forwarded-": "the host does not forward requests on anyone's behalf",
}


def host_owned_reason(name: str, *, cookie_declared: bool = False) -> str | None:
    """Why the host owns header ``name`` (any case), or None when others may set it.

    Args:
        name: the header's name.
        cookie_declared: the SDK's spec declares a ``Cookie`` (then a constant cookie is the spec's own).
    """
    lower = name.strip().lower()
    if lower == "cookie" and cookie_declared:
        return None
    if lower in HOST_OWNED_HEADERS:
        return HOST_OWNED_HEADERS[lower]
    return next((why for prefix, why in HOST_OWNED_PREFIXES.items() if lower.startswith(prefix)), None)
