"""Running the mock ERP: in a background thread (tests), in the foreground (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import uvicorn

from erp_platform._errors import mask_secret
from erp_platform.mock_erp._activity import ActivityLog, EntitySnapshot
from erp_platform.mock_erp._app import MockErpApp
from erp_platform.mock_erp._config import MockErpConfig, default_tenants
from erp_platform.mock_erp._errors import MockErpStartError
from erp_platform.mock_erp._expected import expected_records
from erp_platform.mock_erp._faults import FaultRule, FaultState
from erp_platform.mock_erp._state import MockErpState, ServerStats

_START_TIMEOUT_S = 15.0


class MockErp(Protocol):
    """What tests can do with a running mock ERP, in-thread or in a subprocess."""

    @property
    def base_url(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def config(self) -> MockErpConfig: ...

    def add_fault(self, rule: FaultRule) -> None: ...

    def clear_faults(self) -> None: ...

    def faults(self) -> list[FaultState]: ...

    def stats(self) -> ServerStats: ...

    def reset(self) -> None: ...

    def simulate(
        self, tenant: str, entity: str, *, append: int = 0, touch: Sequence[int] = ()
    ) -> EntitySnapshot: ...

    def activity_log(self, tenant: str) -> ActivityLog: ...

    def expected_records(self, tenant: str, entity: str) -> Iterator[dict[str, Any]]: ...


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); port 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise MockErpStartError(
            f"mock ERP cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port "
            "(0 picks a free one) or stop the process using it"
        ) from exc
    return sock


def public_base_url(host: str, port: int) -> str:
    """The URL clients use for a bind address (wildcards become loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def uvicorn_config(app: MockErpApp, *, quiet: bool) -> uvicorn.Config:
    """uvicorn settings: httptools, no access log; ``quiet`` leaves the process's logging alone."""
    options: dict[str, Any] = {"log_config": None} if quiet else {"log_level": "info"}
    return uvicorn.Config(
        app,
        http="httptools",
        loop="auto",
        lifespan="on",
        access_log=False,
        timeout_keep_alive=30,
        server_header=False,
        **options,
    )


class MockErpServer:
    """The mock ERP in a background thread of this process, on a free port by default.

    Example::

        with MockErpServer(MockErpConfig(rows=500)) as erp:
            httpx.get(f"{erp.base_url}/api/v1/customers", headers={...})
    """

    def __init__(
        self, config: MockErpConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._config = config or MockErpConfig()
        self._host = host
        self._requested_port = port
        self.state = MockErpState(self._config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._failure: BaseException | None = None

    @property
    def config(self) -> MockErpConfig:
        """What the server serves."""
        return self._config

    @property
    def port(self) -> int:
        """The port it listens on (0 before start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return public_base_url(self._host, self._port)

    def start(self) -> Self:
        """Start serving; returns when the server accepts requests."""
        if self._thread is not None:
            return self
        sock = bind_socket(self._host, self._requested_port)
        self._port = sock.getsockname()[1]
        app = MockErpApp(self.state, self.base_url)
        server = uvicorn.Server(uvicorn_config(app, quiet=True))
        self._server = server

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported by start()
                self._failure = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"mock-erp:{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise MockErpStartError(
                    f"mock ERP did not start on {self.base_url} within {_START_TIMEOUT_S:.0f} s"
                    + (f": {self._failure!r}" if self._failure else "")
                )
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # controls ---------------------------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> None:
        """Arm a fault rule (after the existing ones)."""
        self.state.faults.add(rule)

    def clear_faults(self) -> None:
        """Disarm every fault rule."""
        self.state.faults.clear()

    def faults(self) -> list[FaultState]:
        """The fault rules with their counters."""
        return self.state.faults.states()

    def stats(self) -> ServerStats:
        """Requests served per path and status (admin calls excluded)."""
        return self.state.stats()

    def reset(self) -> None:
        """Back to the configured data; clears activity, created records, idempotency keys, faults, stats."""
        self.state.reset()

    def simulate(
        self, tenant: str, entity: str, *, append: int = 0, touch: Sequence[int] = ()
    ) -> EntitySnapshot:
        """Simulate ERP activity: touch rows by id, then append new rows."""
        return self.state.simulate(tenant, entity, append=append, touch=touch)

    def activity_log(self, tenant: str) -> ActivityLog:
        """The ERP tenant's simulated activity so far."""
        return self.state.activity_log(tenant)

    def expected_records(self, tenant: str, entity: str) -> Iterator[dict[str, Any]]:
        """Every record the REST API serves now for (tenant, entity), in served order."""
        return expected_records(self._config, tenant, entity, self.activity_log(tenant))


def serve_forever(
    config: MockErpConfig,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None] = print,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until interrupted (Ctrl-C / SIGTERM); ``on_listening(base_url)`` is called
    once the socket is bound."""
    sock = bind_socket(host, port)
    base_url = public_base_url(host, sock.getsockname()[1])
    if on_listening is not None:
        on_listening(base_url)
    app = MockErpApp(MockErpState(config), base_url)
    announce(f"mock ERP listening on {base_url} (rows={config.rows}, seed={config.seed})")
    announce(f"  OpenAPI: {base_url}/openapi.json")
    demo = default_tenants()
    for code, auth in config.tenants.items():
        # the demo credentials are public; anything else is shown masked
        public = demo.get(code) == auth
        token = auth.token if public else mask_secret(auth.token)
        key = auth.api_key if public else mask_secret(auth.api_key)
        announce(f"  ERP tenant {code}: 'Authorization: Bearer {token}' or 'X-API-Key: {key}'")
    announce("  Ctrl-C stops it")
    try:
        uvicorn.Server(uvicorn_config(app, quiet=False)).run(sockets=[sock])
    finally:
        sock.close()
