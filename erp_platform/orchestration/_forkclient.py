"""Client of the fork server (used by the run launcher and the `erp` CLI)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from erp_platform._errors import ErpPlatformError


class ForkServerUnavailable(ErpPlatformError):
    """The run-worker fork server does not answer."""

    transient = True


def call(socket_path: str | Path, request: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
    """Send one request and return the reply; raise ForkServerUnavailable with what to do."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError, TimeoutError, OSError) as exc:
        raise ForkServerUnavailable(
            f"the run-worker fork server at {socket_path} does not answer ({exc}); start the platform with "
            "`erp dev` (it starts the fork server, the Dagster daemon and the webserver)"
        ) from exc
    reply: dict[str, Any] = json.loads(data or b"{}")
    if not reply.get("ok"):
        raise ErpPlatformError(f"fork server refused {request.get('op')}: {reply.get('error', 'no reply')}")
    return reply
