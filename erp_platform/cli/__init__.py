"""Command-line interface ``erp``."""

from __future__ import annotations

from erp_platform.cli._app import app
from erp_platform.cli._main import main

__all__ = ["app", "main"]
