"""Entry point: import every command group, run the app, turn platform errors into clean exits."""

from __future__ import annotations

import sys

from erp_platform._errors import ErpPlatformError
from erp_platform.cli import _commands  # noqa: F401  (registers every command group)
from erp_platform.cli._app import app
from erp_platform.cli._output import safe_text


def main(argv: list[str] | None = None) -> None:
    """Run ``erp``; a platform error prints its message (never a traceback) and exits with status 2."""
    try:
        app(args=argv)
    except ErpPlatformError as exc:
        print(f"error: {safe_text(str(exc))}", file=sys.stderr)
        sys.exit(2)
