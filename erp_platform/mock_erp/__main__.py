"""Child-process entry of :class:`MockErpProcess`: config JSON on stdin, ``READY <url>`` on stdout."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from erp_platform._errors import ErpPlatformError
from erp_platform.mock_erp._app import MockErpApp
from erp_platform.mock_erp._config import MockErpConfig
from erp_platform.mock_erp._process import READY_PREFIX
from erp_platform.mock_erp._server import bind_socket, public_base_url, uvicorn_config
from erp_platform.mock_erp._state import MockErpState


def main() -> None:
    """Read the config, listen, announce readiness, serve until SIGTERM / SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m erp_platform.mock_erp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = MockErpConfig.model_validate_json(sys.stdin.buffer.read())
    try:
        sock = bind_socket(args.host, args.port)
    except ErpPlatformError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
    base_url = public_base_url(args.host, sock.getsockname()[1])
    app = MockErpApp(MockErpState(config), base_url)
    sys.stdout.write(f"{READY_PREFIX}{base_url}\n")
    sys.stdout.flush()
    try:
        uvicorn.Server(uvicorn_config(app, quiet=True)).run(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":
    main()
