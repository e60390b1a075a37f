"""Page workers: a long extract's pages read in processes forked by the fork server, each with its own
sandbox session, while the run worker keeps order, guards and checkpoints (``_page_workers``).

Through the package's stack (forkserver mode, workers from the fourth page): the rows and the request trail
are complete, the workers really served pages, a worker pinned to one tenant cannot open another tenant's
SDK, one tenant cannot take every worker, the fork server refuses malformed requests, and pages whose worker
cannot start or dies are read elsewhere."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest
from sqlalchemy import text

from erp_platform._errors import ErpPlatformError, TenantIsolationError
from erp_platform.mock_erp import FaultRule
from erp_platform.orchestration._forkclient import call
from erp_platform.orchestration._forkserver import (
    MAX_PAGE_WORKERS,
    MAX_PAGE_WORKERS_PER_TENANT,
    _Child,
    page_worker_refusal,
)
from erp_platform.orchestration._page_workers import FramedPage, FrameSource, WorkerPlan, WorkerPool, workers_for
from erp_platform.orchestration._process import LOCATION_TENANT_ENV
from erp_platform.orchestration._resources import active_sdks
from erp_platform.sandbox import PageReader
from tests.support.stack import Stack, wait_until

TENANT = "pw_acme"
OTHER = "pw_globex"
PAGE_SIZE = 5
PARALLEL = 3
WORKFLOW = f"""
id: paged_sync
activities:
  - id: customers
    type: extract
    config: {{sdk: mock_erp, operation: list_customers, page_size: {PAGE_SIZE}, parallel_requests: {PARALLEL},
              checkpoint_rows: 50}}
  - id: load
    type: load
    config:
      table: customers
      business_key: [customer_id]
      mapping:
        columns:
          - {{source: id, target: customer_id, type: bigint, nullable: false}}
          - {{source: name, target: name, type: text}}
          - {{source: email, target: email, type: text}}
steps:
  - {{activity: customers}}
  - {{activity: load, depends_on: [customers]}}
"""
FIELDS = {"id": "integer", "name": "string", "email": "string"}


@pytest.fixture(scope="module")
def tenants(stack: Stack) -> Stack:
    stack.onboard(TENANT, "enterprise", erp_code="acme", token="tok-acme")
    stack.onboard(OTHER, "enterprise", erp_code="globex", token="tok-globex")
    stack.apply_workflow(TENANT, WORKFLOW)
    return stack


@pytest.fixture
def slow_erp(stack: Stack) -> Iterator[None]:
    """Every REST page takes 150 ms more: the extract outlasts the workers' start by seconds."""
    stack.mock.add_fault(FaultRule(fault="slow", path_prefix="/api/v1/", count=None, delay_ms=150))
    try:
        yield
    finally:
        stack.mock.clear_faults()


def _served(stack: Stack, run_id: str) -> list[int]:
    """Pages each page worker of ``run_id`` served, from the workers' log."""
    log = stack.dev.log_dir / f"page_worker-{TENANT}.log"
    if not log.exists():
        return []
    pattern = re.compile(rf"page worker of run {run_id} \(tenant {TENANT}\): .*?, (\d+) pages in")
    return [int(m.group(1)) for m in pattern.finditer(log.read_text())]


def test_a_long_extract_reads_its_pages_in_page_workers(tenants: Stack, slow_erp: None) -> None:
    stack = tenants
    run_id, status = stack.run(TENANT, "paged_sync")
    assert status == "SUCCESS", run_id

    expected = list(stack.mock.expected_records("acme", "customers"))
    rows = stack.table(TENANT, "customers", "customer_id")
    assert [(r["customer_id"], r["name"], r["email"]) for r in rows] == [
        (e["id"], e["name"], e["email"]) for e in expected
    ]
    pages = -(-len(expected) // PAGE_SIZE)
    served = _served(stack, run_id)
    assert len(served) == workers_for(PARALLEL), served  # every worker closed, with its count
    assert 0 < sum(served) < pages, served  # the first pages were read in the run worker, most in workers
    with stack.platform.engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT count(*) FROM erp_control.sdk_requests WHERE run_id = :r AND operation = 'list_customers'"
                 " AND status = 200"),
            {"r": run_id},
        ).scalar_one()
    assert recorded >= pages  # every page's request is in the trail, whichever process made it


def _resource(stack: Stack, tenant: str) -> dict[str, Any]:
    (active,) = active_sdks(stack.platform.engine, stack.platform.tenants.get(tenant))
    return active.resource.declared_fields()


def _worker(stack: Stack, tenant: str) -> tuple[int, Connection]:
    """A page worker of ``tenant`` from the stack's fork server, connected like a run worker connects."""
    folder = tempfile.mkdtemp(prefix="erp-pw-test-")
    path = os.path.join(folder, "s")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(path)
            listener.listen(1)
            listener.settimeout(60)
            pid = int(call(stack.dev.socket, {"op": "page_worker", "socket": path, "tenant": tenant})["pid"])
            sock, _ = listener.accept()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return pid, Connection(sock.detach())


def test_a_page_worker_opens_only_its_own_tenants_sdk(tenants: Stack) -> None:
    stack = tenants
    _, conn = _worker(stack, TENANT)
    try:
        conn.send(("open", _resource(stack, OTHER), "test-run", "paged_sync", FIELDS))
        assert conn.poll(60)
        status, error = conn.recv()
    finally:
        conn.close()
    assert status == "error"
    assert isinstance(error, TenantIsolationError), error
    assert OTHER in str(error) and TENANT in str(error)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"op": "page_worker", "socket": "/tmp/x.sock", "tenant": "acme; rm -rf /"}, "invalid tenant"),
        ({"op": "page_worker", "socket": "relative.sock", "tenant": TENANT}, "must be an absolute path"),
    ],
)
def test_the_fork_server_refuses_malformed_page_worker_requests(
    tenants: Stack, request_: dict[str, str], message: str
) -> None:
    with pytest.raises(ErpPlatformError, match=message):
        call(tenants.dev.socket, request_)


def _read(stack: Stack, plan: WorkerPlan, monkeypatch: pytest.MonkeyPatch) -> list[FramedPage]:
    monkeypatch.setenv(LOCATION_TENANT_ENV, TENANT)  # this test process stands in for the tenant's run worker
    (active,) = active_sdks(stack.platform.engine, stack.platform.tenants.get(TENANT))
    erp = active.resource
    with WorkerPool(plan, 2) as workers:

        def open_source() -> FrameSource:
            return FrameSource(erp.open_session(run_id="page-worker-test"), FIELDS, first_page=0, workers=workers)

        with PageReader(open_source, "list_customers", {"_page_size": 10}, page_size=10, parallel=2) as reader:
            return list(reader)


def _ids(pages: list[FramedPage]) -> list[int]:
    return [i for page in pages for i in page.frame.get_column("id").to_list()]


def test_a_slot_whose_worker_cannot_start_reads_in_the_run_worker(
    tenants: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stack = tenants
    plan = WorkerPlan("/nonexistent/forkserver.sock", 1, _resource(stack, TENANT), "page-worker-test",
                      "paged_sync", FIELDS)
    pages = _read(stack, plan, monkeypatch)
    assert _ids(pages) == [r["id"] for r in stack.mock.expected_records("acme", "customers")]
    assert "page worker for tenant 'pw_acme' did not start" in caplog.text


def test_a_worker_that_dies_is_not_used_again_and_the_pages_are_read_elsewhere(
    tenants: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stack = tenants
    monkeypatch.setenv(LOCATION_TENANT_ENV, TENANT)
    (active,) = active_sdks(stack.platform.engine, stack.platform.tenants.get(TENANT))
    plan = WorkerPlan(str(stack.dev.socket), 1, active.resource.declared_fields(), "page-worker-test",
                      "paged_sync", FIELDS)
    pages: list[FramedPage] = []
    with WorkerPool(plan, 1) as workers:
        (worker,) = workers.workers
        source = FrameSource(active.resource.open_session(run_id="page-worker-test"), FIELDS, first_page=0,
                             workers=workers)
        try:
            params: dict[str, Any] = {"_page_size": 10}
            pages.append(source.fetch_page("list_customers", params, 1))  # starts the worker; read here meanwhile
            wait_until(lambda: worker.ready, timeout=60, what="the page worker to open its session")
            pages.append(source.fetch_page("list_customers", {**params, "_next": pages[-1].next}, 2))
            assert worker.ready and worker.pid is not None  # page 2 came from the worker
            os.kill(worker.pid, signal.SIGKILL)
            while pages[-1].next is not None:
                pages.append(
                    source.fetch_page("list_customers", {**params, "_next": pages[-1].next}, len(pages) + 1)
                )
            assert not worker.ready
        finally:
            source.close()
    assert _ids(pages) == [r["id"] for r in stack.mock.expected_records("acme", "customers")]
    assert f"page worker {worker.pid} exited" in caplog.text
    assert "its pages are read elsewhere from now on" in caplog.text


def test_one_tenant_cannot_take_every_page_worker(tenants: Stack) -> None:
    """Page workers are the machine's: one tenant gets at most half, others still get theirs."""
    stack = tenants
    held = [_worker(stack, TENANT)[1] for _ in range(MAX_PAGE_WORKERS_PER_TENANT)]
    try:
        with pytest.raises(ErpPlatformError, match=rf"'{TENANT}' has {MAX_PAGE_WORKERS_PER_TENANT} page workers"):
            _worker(stack, TENANT)
        _, other = _worker(stack, OTHER)  # another tenant's extract still gets a worker
        other.close()
    finally:
        for conn in held:
            conn.close()  # each worker sees its run worker gone and exits
    wait_until(lambda: _accepted(stack, TENANT), timeout=30, what="the tenant's workers to exit, freeing places")


def _accepted(stack: Stack, tenant: str) -> bool:
    try:
        _, conn = _worker(stack, tenant)
    except ErpPlatformError:
        return False
    conn.close()
    return True


def test_the_machine_wide_and_per_tenant_page_worker_limits() -> None:
    def alive(tenant: str, n: int) -> list[_Child]:
        return [_Child(pid=10_000 + i, kind="page_worker", name=tenant, started=0.0) for i in range(n)]

    assert page_worker_refusal(alive("a", MAX_PAGE_WORKERS_PER_TENANT - 1), "a") is None
    assert "most one tenant gets" in str(page_worker_refusal(alive("a", MAX_PAGE_WORKERS_PER_TENANT), "a"))
    assert page_worker_refusal(alive("a", MAX_PAGE_WORKERS_PER_TENANT), "b") is None
    crowd = [_Child(pid=20_000 + n, kind="page_worker", name=f"t{n}", started=0.0) for n in range(MAX_PAGE_WORKERS)]
    assert "the most this machine runs at once" in str(page_worker_refusal(crowd, "newcomer"))
    exited = [_Child(pid=1, kind="page_worker", name="a", started=0.0, exit_code=0)] * MAX_PAGE_WORKERS
    runs = [_Child(pid=2, kind="run", name="a", started=0.0)] * MAX_PAGE_WORKERS
    assert page_worker_refusal(exited + runs, "a") is None  # only page workers still running count
