"""The process's one SandboxRuntime (wasmtime engine + epoch ticker + component caches)."""

from __future__ import annotations

import threading
from pathlib import Path

from erp_platform.sandbox import SandboxRuntime

_lock = threading.Lock()
_shared: dict[str, SandboxRuntime] = {}


def process_runtime(cache_dir: Path) -> SandboxRuntime:
    """The runtime shared by every SDK service of this process, created on first use.

    Its caches are keyed by content hash (nothing tenant-specific); ``cache_dir`` is used by the first
    caller only (the on-disk cache of compiled components).
    """
    with _lock:
        runtime = _shared.get("runtime")
        if runtime is None or runtime.closed:
            runtime = _shared["runtime"] = SandboxRuntime(cache_dir=cache_dir)
        return runtime
