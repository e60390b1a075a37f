"""The platform services of this process (a code server or a run worker serves exactly one tenant)."""

from __future__ import annotations

import threading
from pathlib import Path

from erp_platform._platform import Platform

_lock = threading.Lock()
_platform: Platform | None = None


def process_platform() -> Platform:
    """The Platform of this process, built once from the environment (ERP_* settings)."""
    global _platform
    with _lock:
        if _platform is None:
            _platform = Platform(application_name="erp-dagster")
        return _platform


def cache_dir(name: str) -> Path:
    """A cache folder under ERP_HOME/cache (created on demand)."""
    path = process_platform().settings.resolved_home / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
