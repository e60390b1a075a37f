"""Stock mode (``ERP_PROCESS_MODE=stock``): one ``dagster code-server start`` gRPC server per tenant over TCP.

Runs then use Dagster's ``DefaultRunLauncher``: the daemon asks the run's code server to start it, so a run
executes on the host that serves its tenant's code location. Code servers can live on other hosts: with
``ERP_CODE_SERVER_PORT_BASE`` every tenant's port is that base plus the tenant's id, so the host running the
code servers (``erp dev --no-webserver --no-daemon``) and the hosts running the webserver and the daemon
(``erp dev --no-workers``) agree on the addresses from the registry alone, with no shared files.

A tenant whose ACTIVE artifacts change gets its code reloaded in place (Dagster's ``ReloadCode``: a new
server id, so the webserver and daemon reload that location; runs in flight finish in the old process).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dagster._grpc.client import DagsterGrpcClient
from dagster._serdes import deserialize_value
from dagster_shared.error import SerializableErrorInfo

from erp_platform._errors import ErpPlatformError
from erp_platform.config import WILDCARD_HOSTS, Settings
from erp_platform.orchestration._code_server import CODE_LOCATIONS_MODULE
from erp_platform.orchestration._procgroup import terminate_group
from erp_platform.orchestration._workspace import (
    CodeServerAddress,
    TenantLocation,
    location_name,
    render_workspace,
)

_log = logging.getLogger("erp.dev")
MAX_PORT = 65535


class CodeServerError(ErpPlatformError):
    """A tenant code server could not be placed, started or reloaded."""


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class _Server:
    slug: str
    fingerprint: str
    port: int
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0


@dataclass
class StockCodeServers:
    """The tenant code servers of one host in stock mode (or, with ``launch=False``, only their addresses).

    Args:
        settings: platform settings (bind host, advertised host, port base).
        env: environment of the code servers (Dagster instance variables, ``ERP_*``).
        log_dir: one log file per code server.
        launch: start the servers here; False renders the addresses of servers run on another host.
    """

    settings: Settings
    env: Mapping[str, str]
    log_dir: Path
    launch: bool = True
    _servers: dict[str, _Server] = field(default_factory=dict)

    @property
    def _bind_host(self) -> str:
        return self.settings.code_server_host

    @property
    def _local_host(self) -> str:
        """Where this host reaches its own servers (a wildcard bind is reached on loopback)."""
        return "127.0.0.1" if self._bind_host in WILDCARD_HOSTS else self._bind_host

    def port_of(self, loc: TenantLocation) -> int:
        """The tenant's port: base + tenant id with ``ERP_CODE_SERVER_PORT_BASE``, else a free port."""
        base = self.settings.code_server_port_base
        if base is not None:
            port = base + loc.tenant_id
            if port > MAX_PORT:
                raise CodeServerError(
                    f"tenant {loc.slug!r} (id {loc.tenant_id}) would listen on port {port}, above {MAX_PORT}: "
                    f"lower ERP_CODE_SERVER_PORT_BASE (now {base}) so that base + the largest tenant id fits"
                )
            return port
        current = self._servers.get(loc.slug)
        if current is not None:
            return current.port
        if not self.launch:
            raise CodeServerError(
                "the code servers run on another host, so their ports must be known here: set "
                "ERP_CODE_SERVER_PORT_BASE to the same value on every host (tenant ports are base + tenant id)"
            )
        return _free_port(self._bind_host)

    def addresses(self, locations: Mapping[str, TenantLocation]) -> dict[str, CodeServerAddress]:
        host = self.settings.code_server_advertised_host
        return {slug: CodeServerAddress(host=host, port=self.port_of(loc)) for slug, loc in locations.items()}

    def workspace(self, locations: Mapping[str, TenantLocation]) -> str:
        """``workspace.yaml`` naming every tenant's server by host and port."""
        return render_workspace(sorted(locations), mode="tcp", servers=self.addresses(locations))

    # -- lifecycle -----------------------------------------------------------------------------------
    def sync(self, wanted: Mapping[str, TenantLocation], *, timeout: float = 120.0) -> list[str]:
        """Start, reload or stop servers to match ``wanted``; returns the slugs that changed."""
        if not self.launch:
            return []
        changed: list[str] = []
        for slug in sorted(set(self._servers) - set(wanted)):
            self.stop(slug)
            changed.append(slug)
        started: list[_Server] = []
        reloaded: list[_Server] = []
        for slug, loc in sorted(wanted.items()):
            server = self._servers.get(slug)
            if server is not None and self._alive(server):
                if server.fingerprint != loc.fingerprint:
                    self._reload(server, loc)
                    reloaded.append(server)
                    changed.append(slug)
                continue
            if server is not None:
                self.stop(slug)
            started.append(self._spawn(loc))
            changed.append(slug)
        for server in started + reloaded:  # start in parallel, then wait for each
            self._wait(server, timeout)
        return changed

    def restart_dead(self) -> list[str]:
        """Restart servers that exited (killed, crashed); returns their slugs."""
        dead = [s for s in self._servers.values() if s.popen is not None and s.popen.poll() is not None]
        for server in dead:
            assert server.popen is not None
            _log.warning("code server of %s exited with code %s; restarting", server.slug, server.popen.returncode)
            server.restarts += 1
            self._start_process(server)
        for server in dead:
            self._wait(server, 120.0)
        return [s.slug for s in dead]

    def stop(self, slug: str) -> None:
        server = self._servers.pop(slug, None)
        if server is not None and server.popen is not None:
            terminate_group(server.popen, grace=10)

    def stop_all(self) -> None:
        for slug in list(self._servers):
            self.stop(slug)

    def pid_of(self, slug: str) -> int | None:
        server = self._servers.get(slug)
        return None if server is None or server.popen is None else server.popen.pid

    # -- one server ----------------------------------------------------------------------------------
    def _spawn(self, loc: TenantLocation) -> _Server:
        server = _Server(slug=loc.slug, fingerprint=loc.fingerprint, port=self.port_of(loc))
        self._servers[loc.slug] = server
        self._start_process(server)
        return server

    def _start_process(self, server: _Server) -> None:
        dagster = Path(sys.executable).parent / "dagster"
        argv = [
            str(dagster), "code-server", "start",
            "-m", CODE_LOCATIONS_MODULE, "-a", server.slug,
            "--location-name", location_name(server.slug),
            "-h", self._bind_host, "-p", str(server.port),
        ]
        env = {**self.env, "ERP_DB_POOLED": "0"}  # idle code servers hold no database connections
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"code_server-{location_name(server.slug)}.log", "ab") as log:
            server.popen = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _client(self, server: _Server) -> DagsterGrpcClient:
        return DagsterGrpcClient(host=self._local_host, port=server.port)

    def _reload(self, server: _Server, loc: TenantLocation) -> None:
        try:
            self._client(server).reload_code(timeout=120)
        except Exception as exc:  # the server is unreachable: replace it
            _log.warning("reloading the code server of %s failed (%s); restarting it", server.slug, exc)
            self.stop(server.slug)
            self._servers[server.slug] = server
            self._start_process(server)
        server.fingerprint = loc.fingerprint

    def _alive(self, server: _Server) -> bool:
        return server.popen is not None and server.popen.poll() is None

    def _wait(self, server: _Server, timeout: float) -> None:
        """Wait until the server answers with its code loaded (or with the error loading it)."""
        log = self.log_dir / f"code_server-{location_name(server.slug)}.log"
        client = self._client(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(server):
                raise CodeServerError(
                    f"the code server of tenant {server.slug!r} (port {server.port}) exited during start-up; "
                    f"see {log}"
                )
            try:
                loaded = deserialize_value(client.list_repositories())
            except Exception as exc:  # not serving yet
                _log.debug("code server of %s not serving yet: %s", server.slug, exc)
            else:
                if isinstance(loaded, SerializableErrorInfo):  # served: the UI shows the location's error
                    _log.warning("the code location of tenant %s failed to load: %s (see %s)",
                                 server.slug, loaded.message.strip(), log)
                return
            time.sleep(0.2)
        raise CodeServerError(
            f"the code server of tenant {server.slug!r} did not answer on port {server.port} within "
            f"{timeout:.0f} s; see {log}"
        )
