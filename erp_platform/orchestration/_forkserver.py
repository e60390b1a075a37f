"""The run-worker fork server: a warm, single-threaded process that forks run workers and code servers.

Dagster's default launcher starts every run in a fresh interpreter that imports Dagster, polars, pyarrow,
wasmtime and the platform again (about 2 s of CPU each on this machine, more when several start at once).
This server imports all of that once and forks a child per run (copy-on-write: the child starts in tens of
milliseconds and shares the parent's memory pages) and per tenant code server. It never starts threads or
opens connections itself, so forking is safe.

Protocol: one JSON request per connection on a Unix socket (mode 0600), one JSON reply.
``{"op": "launch_run", "run_id": ...}`` -> ``{"ok": true, "pid": N}``; ``{"op": "status", "pid": N}``;
``{"op": "terminate", "pid": N}``; ``{"op": "code_server", "location": ..., "attribute": ..., "socket": ...}``;
``{"op": "page_worker", "socket": ..., "tenant": ...}`` (a process reading an extract's pages for the run
worker listening at ``socket``); ``{"op": "ping"}``. Only these operations exist: the socket cannot be used
to run arbitrary code.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_log = logging.getLogger("erp.forkserver")
_PRELOAD = (
    "dagster",
    "dagster._cli.api",
    "dagster._grpc.server",
    "dagster._core.execution.api",
    "dagster_postgres",
    "polars",
    "pyarrow",
    "pyarrow.parquet",
    "sqlalchemy",
    "psycopg",
    "orjson",
    "httpx",
    "wasmtime",
    "erp_platform.orchestration",
    "erp_platform.sdks",  # opened by every extract (SDK resource): ~0.8 s to import in each run otherwise
    "erp_platform.queue",
    "code_locations.tenants",
)
KILL_GRACE_SECONDS = 10.0


@dataclass
class _Child:
    pid: int
    kind: str
    name: str
    started: float
    exit_code: int | None = None
    kill_at: float | None = None


#: page workers alive at once on this machine (more only contend for its cores)
MAX_PAGE_WORKERS = 2 * (os.cpu_count() or 1) + 2
#: page workers of one tenant alive at once: one tenant's extracts never take every worker
MAX_PAGE_WORKERS_PER_TENANT = max(1, MAX_PAGE_WORKERS // 2)


def page_worker_refusal(children: Iterable[_Child], tenant: str) -> str | None:
    """Why another page worker for ``tenant`` is refused now (the extract then reads in its run worker)."""
    alive = [c for c in children if c.kind == "page_worker" and c.exit_code is None]
    if len(alive) >= MAX_PAGE_WORKERS:
        return f"{len(alive)} page workers are running, the most this machine runs at once ({MAX_PAGE_WORKERS})"
    own = sum(1 for c in alive if c.name == tenant)
    if own >= MAX_PAGE_WORKERS_PER_TENANT:
        return (
            f"tenant {tenant!r} has {own} page workers running, the most one tenant gets at once "
            f"({MAX_PAGE_WORKERS_PER_TENANT}, so other tenants' extracts get theirs)"
        )
    return None


@dataclass
class ForkServer:
    socket_path: Path
    log_dir: Path
    children: dict[int, _Child] = field(default_factory=dict)
    _stopping: bool = False

    def serve(self) -> None:
        """Preload, listen, and serve until SIGTERM/SIGINT; children are terminated on the way out."""
        for name in _PRELOAD:
            __import__(name)
        # Move everything loaded so far out of the collector's reach: a child's garbage collection would
        # otherwise touch (and so copy) every inherited object page (measured: ~100 MB -> ~30 MB private
        # memory per forked code server).
        gc.collect()
        gc.freeze()
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(self.socket_path))
        finally:
            os.umask(old_umask)
        listener.listen(64)
        listener.setblocking(False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ)
        _log.info("fork server ready on %s (pid %s)", self.socket_path, os.getpid())
        print(f"forkserver ready {os.getpid()}", flush=True)
        try:
            while not self._stopping:
                for _key, _ in sel.select(timeout=0.2):
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        continue
                    self._handle(conn, listener)
                self._reap()
                self._escalate()
        finally:
            sel.close()
            listener.close()
            self._shutdown_children()
            if self.socket_path.exists():
                self.socket_path.unlink()

    # -- requests ------------------------------------------------------------------------------------
    def _handle(self, conn: socket.socket, listener: socket.socket) -> None:
        with conn:
            conn.setblocking(True)
            conn.settimeout(5)
            try:
                request = json.loads(_read_line(conn))
                reply = self._dispatch(request, listener)
            except Exception as exc:  # a bad request must never stop the server
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def _dispatch(self, request: dict[str, Any], listener: socket.socket) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "children": len(self.children)}
        if op == "launch_run":
            run_id = str(request["run_id"])
            if not run_id.replace("-", "").isalnum():
                return {"ok": False, "error": f"invalid run id {run_id!r}"}
            fork_socket = str(self.socket_path)
            pid = self._fork("run", run_id, listener, lambda: _run_worker(run_id, fork_socket))
            return {"ok": True, "pid": pid}
        if op == "code_server":
            location, attribute, sock = (
                str(request["location"]),
                str(request["attribute"]),
                str(request["socket"]),
            )
            pid = self._fork(
                "code_server", location, listener, lambda: _code_server(location, attribute, sock)
            )
            return {"ok": True, "pid": pid}
        if op == "page_worker":
            tenant, sock = str(request["tenant"]), str(request["socket"])
            if not tenant.replace("_", "").replace("-", "").isalnum():
                return {"ok": False, "error": f"invalid tenant {tenant!r}"}
            if not os.path.isabs(sock):
                return {"ok": False, "error": f"the page worker socket must be an absolute path, got {sock!r}"}
            self._reap()
            refusal = page_worker_refusal(self.children.values(), tenant)
            if refusal is not None:
                return {"ok": False, "error": refusal}
            pid = self._fork("page_worker", tenant, listener, lambda: _page_worker(sock, tenant))
            return {"ok": True, "pid": pid}
        if op == "status":
            child = self.children.get(int(request["pid"]))
            if child is None:
                return {"ok": True, "known": False, "alive": False, "exit_code": None}
            return {
                "ok": True,
                "known": True,
                "alive": child.exit_code is None,
                "exit_code": child.exit_code,
                "kind": child.kind,
                "name": child.name,
            }
        if op == "terminate":
            child = self.children.get(int(request["pid"]))
            if child is None or child.exit_code is not None:
                return {"ok": True, "signalled": False}
            _signal_group(child.pid, signal.SIGTERM)
            child.kill_at = time.monotonic() + float(request.get("grace", KILL_GRACE_SECONDS))
            return {"ok": True, "signalled": True}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def _fork(self, kind: str, name: str, listener: socket.socket, target: Callable[[], int]) -> int:
        log_path = self.log_dir / f"{kind}-{name}.log"
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                listener.close()
                os.setsid()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                os.close(fd)
                code = target()
            except BaseException:  # the child must never return into the server loop
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = _Child(pid=pid, kind=kind, name=name, started=time.monotonic())
        return pid

    # -- children ------------------------------------------------------------------------------------
    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.get(pid)
            if child is not None:
                child.exit_code = os.waitstatus_to_exitcode(status)
        # forget finished children after a while (status stays answerable for 10 minutes)
        now = time.monotonic()
        for pid in [p for p, c in self.children.items() if c.exit_code is not None and now - c.started > 600]:
            del self.children[pid]

    def _escalate(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if child.exit_code is None and child.kill_at is not None and now >= child.kill_at:
                _signal_group(child.pid, signal.SIGKILL)
                child.kill_at = None

    def _shutdown_children(self) -> None:
        alive = [c for c in self.children.values() if c.exit_code is None]
        for child in alive:
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(c.exit_code is None for c in alive):
            self._reap()
            time.sleep(0.05)
        for child in alive:
            if child.exit_code is None:
                _signal_group(child.pid, signal.SIGKILL)
        self._reap()

    def _on_stop(self, signum: int, frame: object) -> None:
        self._stopping = True


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _read_line(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too large")
    return data


def _run_worker(run_id: str, fork_socket: str) -> int:
    """Child: execute one Dagster run in this (forked, warm) process, as `dagster api execute_run` would."""
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body
    from dagster._utils.interrupts import capture_interrupts, setup_interrupt_handlers

    from erp_platform.orchestration._page_workers import FORKED_BY_ENV

    os.environ[FORKED_BY_ENV] = fork_socket  # extracts may ask this server for page workers

    setup_interrupt_handlers()  # SIGTERM (cancel) interrupts the run cleanly, like `dagster api execute_run`
    with capture_interrupts(), DagsterInstance.get() as instance:
        return _execute_run_command_body(
            run_id, instance, lambda _event: None, set_exit_code_on_failure=False
        )


def _page_worker(sock: str, tenant: str) -> int:
    """Child: read one extract's pages for the run worker listening at ``sock`` (see ``_page_workers``)."""
    from erp_platform.orchestration._page_workers import serve_page_worker

    return serve_page_worker(sock, tenant)


def _code_server(location: str, attribute: str, sock: str) -> int:
    """Child: serve one tenant's code location over gRPC on a Unix socket."""
    from erp_platform.orchestration._code_server import serve_code_location

    serve_code_location(location=location, attribute=attribute, socket_path=sock)
    return 0


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="ERP platform run-worker fork server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ForkServer(Path(args.socket), Path(args.log_dir)).serve()


if __name__ == "__main__":
    main()
