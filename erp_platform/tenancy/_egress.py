"""What ``erp tenant allow-egress`` may allow: one private or loopback ``host:port`` (an on-premise ERP, a
local mock), never a public address (SDKs reach those through their spec's domains) nor a cloud metadata
endpoint. The host is resolved now, so a name must point at private addresses to be allowed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence

from erp_platform._errors import InvalidInputError
from erp_platform.sandbox._addresses import parse_ip_literal, refused_class

#: ``(host, port) -> IP address strings``.
Resolver = Callable[[str, int], Sequence[str]]

_PURPOSE = (
    "allow-egress lets a tenant's SDKs reach an ERP on a private or loopback address (on-premise or local "
    "development), which the sandbox refuses by default"
)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_private_target(host: str, port: int, resolver: Resolver | None = None) -> None:
    """Refuse ``host:port`` unless every address it resolves to is private, loopback or link-local.

    Raises:
        InvalidInputError: a public or cloud-metadata address, or a name that does not resolve (the
            message says what the command is for).
    """
    literal = parse_ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise InvalidInputError(
                f"{host}:{port} was refused: {host!r} does not resolve ({exc}). {_PURPOSE}; allow a name "
                "only once it resolves to the ERP's private address, or allow that address itself."
            ) from None
        addresses = [a for a in (parse_ip_literal(item) for item in found) if a is not None]
        if not addresses:
            raise InvalidInputError(f"{host}:{port} was refused: {host!r} resolves to no address. {_PURPOSE}.")
    for address in addresses:
        why = refused_class(address)
        shown = str(address) if literal is not None else f"{host} ({address})"
        if why is None:
            raise InvalidInputError(
                f"{host}:{port} was refused: {shown} is a public address. {_PURPOSE}; public ERPs need no "
                "exception: their SDK reaches the hosts named by its spec or --base-url."
            )
        if why.startswith("a cloud metadata address"):
            raise InvalidInputError(
                f"{host}:{port} was refused: {shown} is a cloud metadata address, which an SDK may never reach. "
                f"{_PURPOSE}."
            )
