"""The mock ERP in a child process (its own GIL), controlled through the admin endpoints."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import IO, Any, Self

import httpx

from erp_platform._errors import InvalidInputError
from erp_platform.mock_erp._activity import ActivityLog, EntitySnapshot
from erp_platform.mock_erp._config import MockErpConfig
from erp_platform.mock_erp._errors import MockErpStartError, UnknownTenantError
from erp_platform.mock_erp._expected import expected_records
from erp_platform.mock_erp._faults import FaultRule, FaultState
from erp_platform.mock_erp._state import ServerStats

READY_PREFIX = "READY "
_START_TIMEOUT_S = 60.0


class MockErpProcess:
    """The mock ERP served by ``python -m erp_platform.mock_erp`` in a subprocess.

    The config travels on the child's stdin (never on its command line); the child answers with one
    ``READY <base_url>`` line once it listens. ``POLARS_MAX_THREADS`` defaults to 1 so the server uses
    one core. Same controls as :class:`MockErpServer`, over ``/_admin``.
    """

    def __init__(
        self,
        config: MockErpConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._config = config or MockErpConfig()
        self._host = host
        self._requested_port = port
        self._env = {**os.environ, "POLARS_MAX_THREADS": "1", **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._base_url = ""
        self._client: httpx.Client | None = None

    @property
    def config(self) -> MockErpConfig:
        """What the server serves."""
        return self._config

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return self._base_url

    @property
    def port(self) -> int:
        """The port it listens on (0 before start)."""
        if not self._base_url:
            return 0
        return httpx.URL(self._base_url).port or 0

    @property
    def pid(self) -> int:
        """The child's process id (for CPU accounting in benchmarks)."""
        if self._proc is None:
            raise MockErpStartError("mock ERP process is not running: call start() first")
        return self._proc.pid

    def start(self) -> Self:
        """Start the child and wait until it listens."""
        if self._proc is not None:
            return self
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        command = [
            sys.executable,
            "-m",
            "erp_platform.mock_erp",
            "--host",
            self._host,
            "--port",
            str(self._requested_port),
        ]
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=self._env
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(self._config.model_dump_json().encode())
        self._proc.stdin.close()
        line = self._ready_line(self._proc.stdout)
        if not line.startswith(READY_PREFIX):
            detail = self._stderr_tail()
            self.stop()
            raise MockErpStartError(
                f"mock ERP process did not start (first output {line!r})"
                + (f"; its stderr ends with:\n{detail}" if detail else "")
            )
        self._base_url = line[len(READY_PREFIX) :].strip()
        self._client = httpx.Client(base_url=self._base_url, timeout=30)
        return self

    def _ready_line(self, stdout: IO[bytes]) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + _START_TIMEOUT_S
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1):
                    return stdout.readline().decode(errors="replace")
        return ""

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 s); idempotent."""
        proc, self._proc = self._proc, None
        if self._client is not None:
            self._client.close()
            self._client = None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # controls ---------------------------------------------------------------------------------------

    def _admin(
        self, method: str, path: str, payload: object = None, params: dict[str, str] | None = None
    ) -> Any:
        if self._client is None:
            raise MockErpStartError("mock ERP process is not running: call start() first")
        response = self._client.request(method, f"/_admin/{path}", json=payload, params=params)
        if response.status_code >= 400:
            error = response.json().get("error", {})
            message = error.get("message", response.text)
            if error.get("code") == "unknown_tenant":
                raise UnknownTenantError(message)
            raise InvalidInputError(message)
        return response.json()

    def add_fault(self, rule: FaultRule) -> None:
        """Arm a fault rule (after the existing ones)."""
        self._admin("POST", "faults", rule.model_dump(mode="json"))

    def clear_faults(self) -> None:
        """Disarm every fault rule."""
        self._admin("DELETE", "faults")

    def faults(self) -> list[FaultState]:
        """The fault rules with their counters."""
        return [FaultState.model_validate(f) for f in self._admin("GET", "faults")["faults"]]

    def stats(self) -> ServerStats:
        """Requests served per path and status (admin calls excluded)."""
        return ServerStats.model_validate(self._admin("GET", "stats"))

    def reset(self) -> None:
        """Back to the configured data; clears activity, created records, idempotency keys, faults, stats."""
        self._admin("POST", "reset")

    def simulate(
        self, tenant: str, entity: str, *, append: int = 0, touch: Sequence[int] = ()
    ) -> EntitySnapshot:
        """Simulate ERP activity: touch rows by id, then append new rows."""
        body = {"tenant": tenant, "entity": entity, "append": append, "touch": list(touch)}
        return EntitySnapshot.model_validate(self._admin("POST", "activity", body))

    def activity_log(self, tenant: str) -> ActivityLog:
        """The ERP tenant's simulated activity so far."""
        return ActivityLog.model_validate(self._admin("GET", "activity", params={"tenant": tenant}))

    def expected_records(self, tenant: str, entity: str) -> Iterator[dict[str, Any]]:
        """Every record the REST API serves now for (tenant, entity), in served order."""
        return expected_records(self._config, tenant, entity, self.activity_log(tenant))
