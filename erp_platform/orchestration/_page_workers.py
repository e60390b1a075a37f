"""An extract's pages read in page-worker processes, so one extract can use every core.

A run worker reads an extract's pages several at a time (:class:`~erp_platform.sandbox.PageReader`), but the
host's work for each page (reading the body, parsing the JSON, the guest call, building the typed frame)
holds Python's GIL, so a run worker uses one core. A run worker forked by the fork server gives an extract
*page workers*: processes forked by the same fork server (warm, copy-on-write), one per parallel page slot
and at most one more than the machine's cores, shared by the slots. Each is pinned to the run's tenant and
opens its own sandbox session of the same SDK version through the tenant's SDK resource. Everything a
session enforces applies there unchanged: the tenant check, block and pause flags, the component's
integrity check, egress policy, credentials added by the host (never seen by the guest), fuel, memory and
deadlines, the tenant's rate limit (shared across processes through Postgres) and the request trail
(flushed when the worker closes). A worker returns each page as a typed frame; the run worker keeps the
paging order, paging guards and checkpoints.

Workers start only once an extract reaches page ``ERP_PAGE_WORKERS_AFTER_PAGES`` (default 20: opening a
worker's session costs about 0.5 s of CPU, so short extracts never pay for them). Until a worker is ready,
the slots read pages in the run worker; a worker that cannot start, or exits, is logged and not used again
(the run goes on with the others, or in the run worker). The run worker and its page workers talk over a
private Unix socket (in a fresh 0700 folder, the peer's pid checked), and a page worker exits when its run
worker goes away.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from erp_platform._errors import ErpPlatformError
from erp_platform._gc import fewer_gc_passes
from erp_platform.sandbox._paging import PageShape
from erp_platform.transforms import frame_from_records

if TYPE_CHECKING:
    from erp_platform.sandbox import SdkManifest, SdkSession

_log = logging.getLogger("erp.page_workers")

#: set in a run worker forked by the fork server: the fork server's socket (page workers are asked there)
FORKED_BY_ENV = "ERP_FORKED_BY"
#: how long a starting worker may take to connect and open its session
START_TIMEOUT_SECONDS = 60.0
#: how long closing a worker (flushing its request trail) may take
CLOSE_TIMEOUT_SECONDS = 60.0


class PageWorkerLost(ErpPlatformError):
    """A page worker exited or stopped answering (the extract stops using it; its pages are read elsewhere)."""

    transient = True


@dataclass(frozen=True)
class FramedPage:
    """One page as a typed frame, with what the reader needs to order and guard it."""

    frame: pl.DataFrame
    next: str | None
    shape: PageShape | None
    paging_note: str | None = None

    def paging_shape(self) -> PageShape | None:
        return self.shape

    def ended(self, note: str) -> FramedPage:
        return replace(self, frame=self.frame.clear(), next=None, paging_note=note)


def framed_page(
    session: SdkSession, operation: str, params: dict[str, Any], fields: Mapping[str, str], where: str
) -> FramedPage:
    """Fetch one page through ``session`` (no paging guard: the reader guards) and type its records."""
    raw = session.call_raw(operation, params, guard=False)
    shape = raw.paging_shape()  # before the records are typed
    frame = frame_from_records(raw.records, fields, raw=not raw.normalised, where=where)
    return FramedPage(frame=frame, next=raw.next, shape=shape, paging_note=raw.paging_note)


@dataclass(frozen=True)
class WorkerPlan:
    """What a page worker needs to open the same session as the run worker: the SDK resource's fields
    (tenant, SDK version, hashes), the run and workflow (rate limits, flags, request trail), and the
    declared fields of the records."""

    fork_socket: str
    start_after_pages: int
    resource: dict[str, Any]
    run_id: str
    workflow: str | None
    fields: dict[str, str]

    @property
    def tenant(self) -> str:
        return str(self.resource["tenant"])


def worker_plan(
    run_id: str, workflow: str | None, resource: dict[str, Any] | None, fields: Mapping[str, str]
) -> WorkerPlan | None:
    """Page workers for an extract of this run worker, when the fork server that forked it provides them
    (forkserver mode, ``ERP_PAGE_WORKERS`` on) and the SDK resource's fields are known; None: pages are read
    in this process."""
    from erp_platform.orchestration._process import process_platform

    path = os.environ.get(FORKED_BY_ENV)
    if resource is None or not path:
        return None
    settings = process_platform().settings
    if not settings.page_workers or settings.process_mode != "forkserver" or not Path(path).exists():
        return None
    return WorkerPlan(path, settings.page_workers_after_pages, resource, run_id, workflow, dict(fields))


def workers_for(parallel: int) -> int:
    """Page workers of an extract with ``parallel`` slots: one per slot, at most one more than the cores
    (more processes than cores only contend: measured on 2 cores, 3 workers read 20-40 % more pages per second
    than 4)."""
    return max(1, min(parallel, (os.cpu_count() or 1) + 1))


class WorkerPool:
    """The page workers of one extract, shared by its page slots (a fetch takes any idle, ready worker).

    Started on the first :meth:`start`; until a worker is ready, :meth:`fetch` returns None (the slot reads
    the page itself). Close it after the reader, so no fetch is in flight.
    """

    def __init__(self, plan: WorkerPlan, size: int) -> None:
        self.plan = plan
        self._idle: queue.SimpleQueue[PageWorker] = queue.SimpleQueue()
        self.workers = [PageWorker(plan, on_ready=self._idle.put) for _ in range(size)]
        self._lock = threading.Lock()
        self._started = False

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start every worker in the background (idempotent)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for worker in self.workers:
            worker.start()

    def fetch(self, operation: str, params: dict[str, Any], where: str) -> FramedPage | None:
        """The page, read by an idle worker (waiting for one while any is ready); None when no worker is
        ready, or the one used exited (it is logged and not used again)."""
        worker = self._acquire()
        if worker is None:
            return None
        try:
            return worker.fetch(operation, params, where)
        except PageWorkerLost as exc:
            _log.warning("%s; its pages are read elsewhere from now on", exc)
            return None
        finally:
            if worker.ready:
                self._idle.put(worker)

    def close(self) -> None:
        """Close every worker (each flushes its request trail), even if one fails; a failure is raised."""
        with contextlib.ExitStack() as closing:
            for worker in self.workers:
                closing.callback(worker.close)

    def _acquire(self) -> PageWorker | None:
        while any(worker.ready for worker in self.workers):
            try:
                worker = self._idle.get(timeout=0.05)
            except queue.Empty:
                continue  # all ready workers are busy; look again (one may have exited meanwhile)
            if worker.ready:
                return worker
        return None


class FrameSource:
    """A page slot of an extract: its own session in the run worker, and the extract's page workers once one
    is ready.

    A :class:`~erp_platform.sandbox.PageSource` of :class:`FramedPage`; ``first_page`` is the number of
    pages read before this reader started (a resumed extract), for messages. The workers start when a slot is
    asked for page ``start_after_pages`` of the reader.
    """

    def __init__(
        self, session: SdkSession, fields: Mapping[str, str], *, first_page: int, workers: WorkerPool | None
    ) -> None:
        self._session = session
        self._fields = dict(fields)
        self._first_page = first_page
        self._workers = workers

    @property
    def manifest(self) -> SdkManifest:
        return self._session.manifest

    def fetch_page(self, operation: str, params: dict[str, Any], number: int) -> FramedPage:
        where = f"{operation} page {self._first_page + number}"
        workers = self._workers
        if workers is not None:
            if number >= workers.plan.start_after_pages:
                workers.start()
            page = workers.fetch(operation, params, where)
            if page is not None:
                return page
        return framed_page(self._session, operation, params, self._fields, where)

    def close(self) -> None:
        """Close the session (its request trail is flushed); the workers are the pool's to close."""
        self._session.close()


class PageWorker:
    """The run worker's end of one page worker: started in the background, one page request at a time."""

    def __init__(self, plan: WorkerPlan, *, on_ready: Callable[[PageWorker], None] | None = None) -> None:
        self.plan = plan
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.pid: int | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        """Ask the fork server for the worker, in the background (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._start, name="erp-page-worker-start", daemon=True)
            self._thread.start()

    def fetch(self, operation: str, params: dict[str, Any], where: str) -> FramedPage:
        """One page, fetched and typed in the worker; its errors are raised here as the session raised them.

        Raises:
            PageWorkerLost: the worker exited (the page was not read; read it elsewhere).
        """
        with self._lock:
            conn = self._conn
            if conn is None:
                raise PageWorkerLost(f"page worker {self.pid} is closed")
            try:
                conn.send(("fetch", operation, params, where))
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                self._drop()
                raise PageWorkerLost(f"page worker {self.pid} exited ({type(exc).__name__})") from None
        if status == "error":
            raise value
        page: FramedPage = value
        return page

    def close(self) -> None:
        """Stop the worker: it closes its session (flushing the request trail) and exits; idempotent.

        Raises:
            what closing the worker's session raised (e.g. the request trail could not be written).
        """
        if self._thread is not None:
            self._thread.join(START_TIMEOUT_SECONDS)
        with self._lock:
            conn = self._conn
            if conn is None:
                return
            try:
                conn.send(("close",))
                if not conn.poll(CLOSE_TIMEOUT_SECONDS):
                    raise PageWorkerLost(f"page worker {self.pid} did not close in {CLOSE_TIMEOUT_SECONDS:.0f} s")
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                raise PageWorkerLost(
                    f"page worker {self.pid} exited before closing ({type(exc).__name__}); its request trail may "
                    "miss its last requests"
                ) from None
            finally:
                self._drop()
        if status == "error":
            raise value

    # -- internals ------------------------------------------------------------------------------------
    def _drop(self) -> None:
        self._ready.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _start(self) -> None:
        from erp_platform.orchestration._forkclient import call

        plan = self.plan
        folder = tempfile.mkdtemp(prefix="erp-pw-")  # 0700: only this user reaches the socket
        path = os.path.join(folder, "s")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
                listener.bind(path)
                listener.listen(1)
                listener.settimeout(START_TIMEOUT_SECONDS)
                reply = call(plan.fork_socket, {"op": "page_worker", "socket": path, "tenant": plan.tenant})
                self.pid = int(reply["pid"])
                sock, _ = listener.accept()
            peer = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            if peer[0] != self.pid:
                sock.close()
                raise PageWorkerLost(f"a process other than page worker {self.pid} connected (pid {peer[0]})")
            sock.setblocking(True)
            conn = Connection(sock.detach())
            conn.send(("open", plan.resource, plan.run_id, plan.workflow, plan.fields))
            if not conn.poll(START_TIMEOUT_SECONDS):
                conn.close()
                raise PageWorkerLost(
                    f"page worker {self.pid} did not open its session in {START_TIMEOUT_SECONDS:.0f} s"
                )
            status, value = conn.recv()
            if status == "error":
                conn.close()
                raise value
            with self._lock:
                self._conn = conn
                self._ready.set()
            if self._on_ready is not None:
                self._on_ready(self)
        except Exception as exc:  # the slot goes on reading in the run worker
            _log.warning("page worker for tenant %r did not start: %s: %s", plan.tenant, type(exc).__name__, exc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# -- the worker process ------------------------------------------------------------------------------------
def serve_page_worker(socket_path: str, tenant: str) -> int:
    """Page worker main (a child of the fork server): serve the run worker listening at ``socket_path``.

    Messages (pickled, from the run worker only): ``("open", resource fields, run id, workflow, record
    fields)`` once, then ``("fetch", operation, params, where)`` per page, then ``("close",)``. Every reply
    is ``("ok", value)`` or ``("error", exception)``. The worker exits when the run worker goes away.
    """
    from erp_platform.orchestration._process import LOCATION_TENANT_ENV
    from erp_platform.orchestration._resources import ErpSdkResource

    os.environ[LOCATION_TENANT_ENV] = tenant  # the only tenant whose SDK this process may open
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(socket_path)
    conn = Connection(sock.detach())
    session: SdkSession | None = None
    try:
        _, resource, run_id, workflow, fields = conn.recv()
        started = time.monotonic()
        try:
            session = ErpSdkResource(**resource).open_session(run_id=run_id, workflow=workflow)
        except Exception as exc:
            conn.send(("error", _portable(exc)))
            return 1
        conn.send(("ok", None))
        opened, pages = time.monotonic(), 0
        with fewer_gc_passes():
            while True:
                message = conn.recv()
                if message[0] != "fetch":
                    break
                _, operation, params, where = message
                try:
                    reply: tuple[str, Any] = ("ok", framed_page(session, operation, params, fields, where))
                except Exception as exc:
                    reply = ("error", _portable(exc))
                conn.send(reply)
                pages += 1
        _log.info(
            "page worker of run %s (tenant %s): session opened in %.2f s, %d pages in %.2f s, %.2f s of CPU",
            run_id, tenant, opened - started, pages, time.monotonic() - opened, time.process_time(),
        )
        closing, session = session, None
        try:
            closing.close()
        except Exception as exc:
            conn.send(("error", _portable(exc)))
            return 1
        conn.send(("ok", None))
        return 0
    except (EOFError, OSError):  # the run worker went away
        return 0
    finally:
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()
        conn.close()


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling as itself, else an ErpPlatformError with its type and message."""
    try:
        copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    except Exception:  # noqa: S110 - falls through to the portable form
        pass
    portable = ErpPlatformError(f"{type(exc).__name__}: {exc}")
    portable.transient = bool(getattr(exc, "transient", False))
    return portable
