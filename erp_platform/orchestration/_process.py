"""The platform services of this process (a code server or a run worker serves exactly one tenant)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from erp_platform._platform import Platform

_lock = threading.Lock()
_platform: Platform | None = None
POOLED_ENV = "ERP_DB_POOLED"
#: set in a tenant's code server process: the only tenant whose SDK resources it may use
LOCATION_TENANT_ENV = "ERP_LOCATION_TENANT"


def process_platform() -> Platform:
    """The Platform of this process, built once from the environment (ERP_* settings).

    Code servers (one per tenant, mostly idle) set ``ERP_DB_POOLED=0`` so they hold no idle database
    connections; run workers keep a small pool.
    """
    global _platform  # noqa: PLW0603 - one Platform per process, built lazily
    with _lock:
        if _platform is None:
            pooled = os.environ.get(POOLED_ENV, "1") != "0"
            _platform = Platform(application_name="erp-dagster", pooled=pooled)
        return _platform


def reset_process_platform() -> None:
    """Forget this process's Platform (disposing its engine), so the next use reads the environment again.

    For a process that changes its ERP_* settings, such as a test session starting a second platform.
    """
    global _platform  # noqa: PLW0603 - see process_platform
    with _lock:
        if _platform is not None:
            _platform.close()
        _platform = None


def cache_dir(name: str) -> Path:
    """A cache folder under ERP_HOME/cache (created on demand)."""
    path = process_platform().settings.resolved_home / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
