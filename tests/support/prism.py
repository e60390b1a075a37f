"""Stoplight Prism mock servers for the corpus specs: one per (spec, mode), started on first use.

``prism mock SPEC -p PORT`` serves responses from the spec's examples (``static``), from bodies Prism
builds from the schemas (``schema``: ``--ignoreExamples``), or generated data (``dynamic``:
``--dynamic --seed N``, deterministic for a seed). Servers are started once per test session (several
at once when asked together, since each takes seconds to read a large spec), answer on a free loopback
port, and are stopped when the session ends.

Usage in a conftest::

    from tests.support.prism import prism_pool  # noqa: F401  (the session fixture)

    def test_x(prism_pool):
        server = prism_pool.get(load_corpus().get("xero_accounting"))
        httpx.get(server.url + "Contacts", headers=...)
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pytest

from tests.support.corpus import NODE_MODULES, CorpusSpec, missing_tools_message

PrismMode = Literal["static", "schema", "dynamic"]
START_TIMEOUT_SECONDS = 180.0
_RECEIVED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request received")
DEFAULT_SEED = "7"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrismServer:
    """One running ``prism mock`` process."""

    spec_path: Path
    mode: PrismMode
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    seed: str = DEFAULT_SEED

    @property
    def url(self) -> str:
        """Base URL ending with ``/``: operation paths of the spec are relative to it."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def host_port(self) -> str:
        """``127.0.0.1:PORT``, for ``erp tenant allow-egress``."""
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        """The end of Prism's log (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_lines(self) -> list[str]:
        """Prism's log so far."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def received(self) -> list[tuple[str, str]]:
        """(METHOD, path?query) of every request Prism received, oldest first (from its log)."""
        found: list[tuple[str, str]] = []
        for line in self.log_lines():
            match = _RECEIVED.search(line)
            if match:
                found.append((match.group(1).upper(), match.group(2)))
        return found

    def request_violations(self) -> list[str]:
        """Prism's complaints about requests that do not match the spec (``Violation: request...``)."""
        return [line.split("Violation:", 1)[1].strip() for line in self.log_lines()
                if "Violation: request" in line]

    def stop(self) -> None:
        """Stop the process (and its children); idempotent."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even if it is killed before its cleanup."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn_prism(spec_path: Path, mode: PrismMode = "static", *, seed: str = DEFAULT_SEED,
                errors: bool = False, log_dir: Path | None = None) -> PrismServer:
    """Start Prism for ``spec_path`` without waiting for it (call from the thread that will outlive it:
    the server is stopped when that thread ends, so a killed test run leaves no server behind)."""
    problem = missing_tools_message()
    if problem:
        raise RuntimeError(problem)
    port = free_port()
    args = [str(NODE_MODULES / ".bin" / "prism"), "mock", str(spec_path), "-p", str(port), "-h", "127.0.0.1"]
    if mode == "schema":
        args.append("--ignoreExamples")
    elif mode == "dynamic":
        args += ["--dynamic", "--seed", seed]
    if errors:
        args.append("--errors")
    folder = log_dir or Path(tempfile.mkdtemp(prefix="prism-"))
    log_path = folder / f"prism-{spec_path.stem}-{mode}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "SCARF_ANALYTICS": "false", "NO_COLOR": "1"}, preexec_fn=_die_with_parent,
        )
    return PrismServer(spec_path, mode, port, process, log_path, seed)


def wait_ready(server: PrismServer, timeout: float = START_TIMEOUT_SECONDS) -> PrismServer:
    """Return once the server answers HTTP (any status); stop it and raise with its log otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"Prism exited with status {server.process.returncode} while loading {server.spec_path.name}:\n"
                f"{server.log_tail()}"
            )
        try:
            httpx.get(server.url, timeout=2.0)
            return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"Prism did not answer on {server.url} within {timeout:.0f} s for "
                f"{server.spec_path.name}:\n{server.log_tail()}"
            )
        time.sleep(0.25)


def start_prism(spec_path: Path, mode: PrismMode = "static", *, seed: str = DEFAULT_SEED,
                errors: bool = False, log_dir: Path | None = None) -> PrismServer:
    """Start Prism for ``spec_path`` and return once it answers HTTP (any status)."""
    return wait_ready(spawn_prism(spec_path, mode, seed=seed, errors=errors, log_dir=log_dir))


@dataclass
class PrismPool:
    """Prism servers of one test session, keyed by (spec file, mode, seed)."""

    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="prism-logs-")))
    _servers: dict[tuple[Path, str, str], PrismServer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, spec: CorpusSpec, mode: PrismMode | None = None, *, seed: str = DEFAULT_SEED) -> PrismServer:
        """The server for a corpus spec (in the manifest's mode unless another is asked), started once."""
        chosen: PrismMode
        if mode is not None:
            chosen = mode
        elif spec.prism == "none":
            raise ValueError(f"corpus spec {spec.id!r} is not served by Prism (prism: none in the manifest)")
        else:
            chosen = spec.prism
        return self.serve(spec.file, chosen, seed=seed)

    def serve(self, path: Path, mode: PrismMode = "static", *, seed: str = DEFAULT_SEED) -> PrismServer:
        """The server for any OpenAPI file, started once."""
        key = (path.resolve(), mode, seed)
        with self._lock:
            server = self._servers.get(key)
            if server is None or server.process.poll() is not None:
                server = self._servers[key] = spawn_prism(path, mode, seed=seed, log_dir=self.log_dir)
        return wait_ready(server)

    def start_all(self, specs: Iterable[CorpusSpec]) -> list[PrismServer]:
        """Start the servers of several specs at once (Prism spends seconds reading big specs), then wait."""
        spawned: list[PrismServer] = []
        for spec in specs:
            if spec.prism == "none":
                continue
            key = (spec.file.resolve(), spec.prism, DEFAULT_SEED)
            with self._lock:
                running = self._servers.get(key)
                if running is None or running.process.poll() is not None:
                    running = self._servers[key] = spawn_prism(spec.file, spec.prism, log_dir=self.log_dir)
            spawned.append(running)
        return [wait_ready(server) for server in spawned]

    def stop_all(self) -> None:
        """Stop every server; idempotent."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop()


_POOL: PrismPool | None = None


def session_pool() -> PrismPool:
    """The process's pool (one per test session, whichever conftests use it); stopped at exit."""
    global _POOL
    if _POOL is None:
        _POOL = PrismPool()
        atexit.register(_POOL.stop_all)
    return _POOL


@pytest.fixture(scope="session")
def prism_pool() -> Iterator[PrismPool]:
    """Prism servers for corpus specs, started on first use, stopped at the end of the session."""
    problem = missing_tools_message()
    if problem:
        raise pytest.UsageError(problem)
    pool = session_pool()
    yield pool
    pool.stop_all()
