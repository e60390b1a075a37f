"""``erp dev``: the fork server, one code server per tenant, the Dagster daemon and webserver, supervised.

The supervisor keeps the tenant code locations in step with the registry: a tenant whose ACTIVE
artifacts (or hand-written code files, ``$ERP_HOME/code/<tenant>``) change gets a fresh code server (the
webserver notices the new server id and reloads that location only); a new or removed tenant rewrites
``workspace.yaml`` and reloads the workspace. One tenant's change never restarts another tenant's code
server.

With ``ERP_PROCESS_MODE=stock`` there is no fork server: each tenant is a stock ``dagster code-server
start`` gRPC server over TCP and runs use Dagster's ``DefaultRunLauncher`` (see ``_stock_servers``).
``--no-workers`` (stock mode only) supervises the webserver and daemon of a host whose code servers run
on another host.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from erp_platform._errors import ErpPlatformError
from erp_platform._platform import Platform
from erp_platform.orchestration._dagster_home import (
    QueuePolicy,
    dagster_home,
    forkserver_socket,
    prepare_dagster_home,
)
from erp_platform.orchestration._forkclient import ForkServerUnavailable, call
from erp_platform.orchestration._procgroup import terminate_group
from erp_platform.orchestration._stock_servers import StockCodeServers
from erp_platform.orchestration._tenant_code import tenant_code_digest
from erp_platform.orchestration._workspace import (
    TenantLocation,
    code_server_socket,
    location_name,
    render_workspace,
    tenant_locations,
    write_workspace,
)

_log = logging.getLogger("erp.dev")


class StackError(ErpPlatformError):
    """A process of the local stack failed to start or died."""


@dataclass
class _Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    restarts: int = 0


@dataclass
class DevStack:
    """The local platform stack. Use as a context manager; ``stop()`` is idempotent."""

    platform: Platform
    host: str = "127.0.0.1"
    port: int = 3000
    webserver: bool = True
    daemon: bool = True
    workers: bool = True  # code servers (and in forkserver mode the fork server) on this host
    policy: QueuePolicy | None = None
    metrics_port: int | None = None  # /metrics and /health: None = ERP_METRICS_PORT (9464); -1 = off
    env: dict[str, str] = field(default_factory=dict)
    dagster_env: dict[str, str] = field(default_factory=dict)
    _procs: dict[str, _Proc] = field(default_factory=dict)
    _code_servers: dict[str, tuple[int, str]] = field(default_factory=dict)  # slug -> (pid, fingerprint)
    _stopped: bool = False
    _ops: Any = None  # erp_platform.queue.QueueMaintenance (force_cancel_after, caps in dagster.yaml)
    _metrics: Any = None  # erp_platform.observability.MetricsServer
    _stock: StockCodeServers | None = None  # stock mode: the tenant code servers (or their addresses)

    # -- paths ---------------------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.platform.settings.resolved_home

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def workspace_path(self) -> Path:
        return dagster_home(self.platform.settings) / "workspace.yaml"

    @property
    def socket(self) -> Path:
        return forkserver_socket(self.platform.settings)

    @property
    def process_mode(self) -> str:
        return self.platform.settings.process_mode

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str | None:
        """Where /metrics and /health are served (None when the endpoint is off or not started)."""
        return None if self._metrics is None else str(self._metrics.url)

    # -- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> DevStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, *, timeout: float = 120.0) -> None:
        """Start everything and wait until the fork server, code servers and webserver answer.

        If any part fails to start, what was already started is stopped before the error is raised.
        """
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        from erp_platform.queue import queue_policy

        policy = self.policy or queue_policy(self.platform.engine)
        self.dagster_env = prepare_dagster_home(self.platform.settings, self.platform.database_url, policy)
        self.env = {**os.environ, **self.dagster_env}
        self._migrate_dagster()
        bin_dir = Path(sys.executable).parent
        if self.process_mode == "stock":
            self._stock = StockCodeServers(self.platform.settings, self.env, self.log_dir, launch=self.workers)
        elif not self.workers:
            raise StackError(
                "--no-workers needs ERP_PROCESS_MODE=stock: in forkserver mode every run starts in the fork "
                "server on this host; in stock mode runs start in the tenant code servers, which may run on "
                "another host (`erp dev --no-webserver --no-daemon` there)"
            )
        else:
            self._spawn(
                _Proc(
                    "forkserver",
                    [
                        sys.executable,
                        "-m",
                        "erp_platform.orchestration._forkserver",
                        "--socket",
                        str(self.socket),
                        "--log-dir",
                        str(self.log_dir),
                    ],
                )
            )
            self._wait_forkserver(timeout)
        self.sync_locations(initial=True)
        if self.daemon:
            self._spawn(
                _Proc("daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", str(self.workspace_path)])
            )
        if self.webserver:
            self._spawn(
                _Proc(
                    "webserver",
                    [
                        str(bin_dir / "dagster-webserver"),
                        "-w",
                        str(self.workspace_path),
                        "-h",
                        self.host,
                        "-p",
                        str(self.port),
                    ],
                )
            )
            self._wait_http(f"{self.url}/server_info", timeout)
        self._start_ops()

    def stop(self) -> None:
        """Stop every process this stack started (webserver, daemon, fork server with its children)."""
        if self._stopped:
            return
        self._stopped = True
        if self._metrics is not None:
            self._metrics.stop()
        if self._ops is not None:
            self._ops.close()
        for name in ("webserver", "daemon", "forkserver"):
            proc = self._procs.get(name)
            if proc is None or proc.popen is None or proc.popen.poll() is not None:
                continue
            terminate_group(proc.popen, grace=15 if name == "forkserver" else 10)
        if self._stock is not None:
            self._stock.stop_all()
        self._code_servers.clear()
        if "daemon" in self._procs and self.dagster_env:
            self._forget_heartbeats()

    def _forget_heartbeats(self) -> None:
        """The daemon is gone: drop its heartbeats so health checks say so now, not once they go stale."""
        from erp_platform.queue import open_instance

        try:
            with open_instance(self.platform, self.dagster_env) as instance:
                instance.wipe_daemon_heartbeats()
        except Exception as exc:  # the database may be gone too; stale heartbeats then age out
            _log.warning("could not clear the daemon's heartbeats: %s", exc)

    def supervise(self, *, interval: float = 2.0, stop_after: float | None = None) -> None:
        """Keep code locations in step with the registry and restart dead processes until interrupted."""
        started = time.monotonic()
        while not self._stopped:
            if stop_after is not None and time.monotonic() - started >= stop_after:
                return
            time.sleep(interval)
            self._restart_dead()
            try:
                self.sync_locations()
            except ErpPlatformError as exc:
                _log.warning("could not sync code locations: %s", exc)
            if self._ops is not None and self._ops.tick():
                self._restart_daemon()

    def _start_ops(self) -> None:
        """Queue upkeep (force_cancel_after, caps) and the /metrics + /health endpoint."""
        from erp_platform.observability import MetricsServer
        from erp_platform.queue import QueueMaintenance

        self._ops = QueueMaintenance(self.platform, self.env, fixed_policy=self.policy)
        if self.metrics_port != -1:
            try:
                self._metrics = MetricsServer(
                    self.platform, port=self.metrics_port, instance=self._ops.instance
                ).start()
            except OSError as exc:  # the port is taken: run without the endpoint rather than not at all
                _log.warning("metrics endpoint not started (ERP_METRICS_PORT): %s", exc)

    def _restart_daemon(self) -> None:
        proc = self._procs.get("daemon")
        if proc is not None and proc.popen is not None and proc.popen.poll() is None:
            terminate_group(proc.popen, grace=10)
            self._spawn(proc)

    # -- code locations ------------------------------------------------------------------------------
    def sync_locations(self, *, initial: bool = False) -> list[str]:
        """Start, restart or stop tenant code servers to match the registry; returns changed slugs."""
        wanted = {
            loc.slug: replace(loc, fingerprint=loc.fingerprint + tenant_code_digest(self.home, loc.slug))
            for loc in tenant_locations(self.platform.engine)
        }
        if self._stock is not None:
            stock_changed = self._stock.sync(wanted)
            if write_workspace(self.workspace_path, self._stock.workspace(wanted)) and not initial:
                self._reload_workspace()
            return stock_changed
        changed: list[str] = []
        for slug in sorted(set(self._code_servers) - set(wanted)):
            self._stop_code_server(slug)
            changed.append(slug)
        for slug, loc in sorted(wanted.items()):
            current = self._code_servers.get(slug)
            if current is not None and current[1] == loc.fingerprint and self._code_server_alive(current[0]):
                continue
            if current is not None:
                self._stop_code_server(slug)
            self._start_code_server(loc)
            changed.append(slug)
        content = render_workspace(sorted(wanted), mode="grpc", run_dir=self.run_dir)
        if write_workspace(self.workspace_path, content) and not initial:
            self._reload_workspace()
        elif not initial:
            for slug in changed:
                self._reload_location(slug)
        return changed

    def _reload_location(self, slug: str) -> None:
        """A tenant's code server restarted: have the UI load its new definitions now."""
        if not self.webserver:
            return
        import httpx

        query = "mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename } }"
        try:
            httpx.post(f"{self.url}/graphql", json={"query": query, "variables": {"name": location_name(slug)}},
                       timeout=60)
        except httpx.HTTPError as exc:
            _log.warning("reloading code location %s in the UI failed: %s", location_name(slug), exc)

    def _start_code_server(self, loc: TenantLocation, timeout: float = 120.0) -> None:
        sock = code_server_socket(self.run_dir, loc.slug)
        if sock.exists():
            sock.unlink()
        reply = call(
            self.socket,
            {
                "op": "code_server",
                "location": location_name(loc.slug),
                "attribute": loc.slug,
                "socket": str(sock),
            },
        )
        self._code_servers[loc.slug] = (int(reply["pid"]), loc.fingerprint)
        self._wait_code_server(loc.slug, sock, int(reply["pid"]), timeout)

    def _stop_code_server(self, slug: str) -> None:
        pid, _ = self._code_servers.pop(slug)
        try:
            call(self.socket, {"op": "terminate", "pid": pid, "grace": 5})
        except ForkServerUnavailable:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._code_server_alive(pid):
            time.sleep(0.1)

    def code_server_pid(self, slug: str) -> int | None:
        """The process id of ``slug``'s code server on this host (None: not running here)."""
        if self._stock is not None:
            return self._stock.pid_of(slug)
        current = self._code_servers.get(slug)
        return None if current is None else current[0]

    def _code_server_alive(self, pid: int) -> bool:
        try:
            return bool(call(self.socket, {"op": "status", "pid": pid}, timeout=5).get("alive"))
        except ForkServerUnavailable:
            return False

    def _wait_code_server(self, slug: str, sock: Path, pid: int, timeout: float) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._code_server_alive(pid):
                log = self.log_dir / f"code_server-{location_name(slug)}.log"
                raise StackError(f"the code server of tenant {slug!r} exited during start-up; see {log}")
            if sock.exists():
                try:
                    DagsterGrpcClient(socket=str(sock), host="localhost").ping("erp")
                    return
                except Exception as exc:  # not serving yet
                    _log.debug("code server of %s not serving yet: %s", slug, exc)
            time.sleep(0.1)
        raise StackError(f"the code server of tenant {slug!r} did not answer within {timeout:.0f} s")

    def _reload_workspace(self) -> None:
        """New or removed tenants: reload the webserver's workspace and restart the daemon."""
        if self.webserver:
            import httpx

            query = "mutation { reloadWorkspace { __typename } }"
            try:
                httpx.post(f"{self.url}/graphql", json={"query": query}, timeout=60)
            except httpx.HTTPError as exc:
                _log.warning("workspace reload request failed: %s", exc)
        proc = self._procs.get("daemon")
        if proc is not None and proc.popen is not None and proc.popen.poll() is None:
            terminate_group(proc.popen, grace=10)
            self._spawn(proc)

    # -- processes -----------------------------------------------------------------------------------
    def _spawn(self, proc: _Proc) -> None:
        proc.log_path = self.log_dir / f"{proc.name}.log"
        log = open(proc.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            proc.popen = subprocess.Popen(
                proc.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self._procs[proc.name] = proc

    def _restart_dead(self) -> None:
        if self._stock is not None:
            self._stock.restart_dead()
        for name, proc in list(self._procs.items()):
            if proc.popen is None or proc.popen.poll() is None:
                continue
            _log.warning(
                "%s exited with code %s; restarting (see %s)", name, proc.popen.returncode, proc.log_path
            )
            proc.restarts += 1
            self._spawn(proc)
            if name == "forkserver":
                self._wait_forkserver(120)
                self._code_servers.clear()
                self.sync_locations(initial=True)

    def _wait_forkserver(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self._procs["forkserver"]
        while time.monotonic() < deadline:
            assert proc.popen is not None
            if proc.popen.poll() is not None:
                raise StackError(f"the fork server exited during start-up; see {proc.log_path}")
            try:
                call(self.socket, {"op": "ping"}, timeout=2)
                return
            except ForkServerUnavailable:
                time.sleep(0.1)
        raise StackError(f"the fork server did not answer within {timeout:.0f} s; see {proc.log_path}")

    def _wait_http(self, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        proc = self._procs["webserver"]
        while time.monotonic() < deadline:
            assert proc.popen is not None
            if proc.popen.poll() is not None:
                raise StackError(f"the Dagster webserver exited during start-up; see {proc.log_path}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise StackError(f"the Dagster webserver did not answer at {url} within {timeout:.0f} s")

    def _migrate_dagster(self) -> None:
        migrate_dagster(self.env)


def migrate_dagster(env: dict[str, str]) -> None:
    """Create or upgrade Dagster's tables in the platform database (idempotent)."""
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "dagster"), "instance", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"dagster instance migrate failed: {result.stderr.strip()[-2000:]}")

