"""The audit trail of SDK requests, written to ``erp_control.sdk_requests`` in batches."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, insert

from erp_platform.registry import CONTROL_SCHEMA, Base
from erp_platform.sandbox import RequestRecord

DEFAULT_BATCH = 200
DEFAULT_MAX_DELAY_SECONDS = 1.0
_TABLE = Base.metadata.tables[f"{CONTROL_SCHEMA}.sdk_requests"]


class RegistryRequestRecorder:
    """Collects :class:`RequestRecord` values of one session and inserts them in batches.

    Records hold no secret and no query value (the sandbox builds them that way). A batch is written
    when it is full or when its oldest record has waited ``max_delay_seconds``, so a worker killed with
    SIGKILL loses at most that much of its trail; ``flush`` writes what is pending and runs on ``close``
    (the session's end). Thread-safe.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        run_id: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        max_delay_seconds: float = DEFAULT_MAX_DELAY_SECONDS,
    ) -> None:
        self._engine = engine
        self._run_id = run_id
        self._batch_size = max(1, batch_size)
        self._max_delay = max(0.0, max_delay_seconds)
        self._oldest = 0.0
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._written = 0

    @property
    def written(self) -> int:
        """Rows inserted so far."""
        return self._written

    def record(self, entry: RequestRecord) -> None:
        """Queue one record; a full or overdue batch is written at once."""
        row: dict[str, object] = {
            "tenant_slug": entry.tenant,
            "sdk_name": entry.sdk_name,
            "sdk_version": entry.sdk_version,
            "operation": entry.operation[:100],
            "run_id": self._run_id,
            "method": entry.method[:10],
            "host": entry.host[:255],
            "path": entry.path,
            "status": entry.status,
            "bytes": entry.bytes,
            "ms": entry.ms,
            "attempt": entry.attempt,
            "error": entry.error,
        }
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._oldest = now
            self._pending.append(row)
            due = len(self._pending) >= self._batch_size or now - self._oldest >= self._max_delay
        if due:
            self.flush()

    def flush(self) -> None:
        """Insert every pending record (one statement)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        with self._engine.begin() as conn:
            conn.execute(insert(_TABLE), batch)
        with self._lock:
            self._written += len(batch)

    def close(self) -> None:
        """Flush; idempotent."""
        self.flush()
