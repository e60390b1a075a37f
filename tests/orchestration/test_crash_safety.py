"""Crash safety: SIGKILL the run worker at random points during extract and during load, resume from
failure, and the final table equals a clean run's: no duplicate, no missing row.

The kill is real (``kill -9`` of the forked run worker); Dagster's run monitoring notices the dead worker
and fails the run; ``erp run resume`` re-executes it from failure. Extracts continue from their
checkpointed page; loads are one transaction with an idempotent merge.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from erp_platform._errors import ConflictError
from erp_platform.mock_erp import FaultRule, MockErpConfig, MockErpServer
from erp_platform.orchestration._launch import wait_for_run
from erp_platform.queue import RunControls
from tests.support.stack import Stack, wait_until

SEED = int(os.environ.get("ERP_CRASH_SEED", "20261125"))
ROWS = 12_000
PAGE = 400  # 30 pages per extract
CLEAN = "crash_clean"
VICTIM = "crash_victim"
BATCHED = "crash_batched"  # checkpoints every PART_ROWS records instead of every page
PART_ROWS = 2_000  # 5 pages per part
PARALLEL = "crash_parallel"  # page-number paging, 4 pages fetched at once

WORKFLOW = (
    """
id: crash_sync
activities:
  - id: customers
    type: extract
    config: {sdk: mock_erp, operation: odata_v4_list_customers, params: {tenant: acme}, page_size: PAGE_SIZE,
             checkpoint_rows: 1}
  - id: shaped
    type: transform
    config:
      steps:
        - {op: derive, column: label, expr: "upper(country) || '-' || number"}
  - id: load
    type: load
    config:
      table: customers
      business_key: [customer_id]
      mapping:
        columns:
          - {source: id, target: customer_id, type: bigint, nullable: false}
          - {source: number, target: number, type: text}
          - {source: name, target: name, type: text}
          - {source: email, target: email, type: text}
          - {source: balance, target: balance, type: "numeric(14,2)"}
          - {source: label, target: label, type: text}
          - {source: updated_at, target: erp_updated_at, type: timestamptz}
steps:
  - {activity: customers}
  - {activity: shaped, depends_on: [customers]}
  - {activity: load, depends_on: [shaped]}
"""
).replace("PAGE_SIZE", str(PAGE))
#: The same sync through the REST operation (page numbers): pages are fetched ahead, 4 at once.
PARALLEL_WORKFLOW = WORKFLOW.replace(
    "operation: odata_v4_list_customers, params: {tenant: acme},", "operation: list_customers,"
).replace("checkpoint_rows: 1}", "checkpoint_rows: 1, parallel_requests: 4}")


@pytest.fixture(scope="module")
def big_erp(stack: Stack) -> Iterator[tuple[Stack, MockErpServer]]:
    """A larger ERP for this module, slowed a little per page so kills land inside the extract."""
    with MockErpServer(MockErpConfig(rows=ROWS, seed=11)) as erp:
        erp.add_fault(FaultRule(fault="slow", path_prefix="/odata/v4/", count=None, delay_ms=60))
        erp.add_fault(FaultRule(fault="slow", path_prefix="/api/v1/", count=None, delay_ms=60))
        spec = httpx.get(f"{erp.base_url}/openapi.json", timeout=30).content
        onboard = Stack(stack.platform, erp, spec, stack.dev, stack.instance)
        for slug in (CLEAN, VICTIM, BATCHED):
            onboard.onboard(slug, "enterprise", erp_code="acme", token="tok-acme")
            workflow = WORKFLOW.replace("checkpoint_rows: 1", f"checkpoint_rows: {PART_ROWS}")
            onboard.apply_workflow(slug, workflow if slug == BATCHED else WORKFLOW)
        onboard.onboard(PARALLEL, "enterprise", erp_code="acme", token="tok-acme")
        onboard.apply_workflow(PARALLEL, PARALLEL_WORKFLOW)
        yield onboard, erp


def _comparable(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(v for k, v in sorted(r.items()) if not k.startswith("_erp_")) for r in rows]


def _worker_pid(stack: Stack, run_id: str) -> int:
    def pid() -> int | None:
        run = stack.instance.get_run_by_id(run_id)
        value = run.tags.get("erp/worker_pid") if run else None
        return int(value) if value else None

    return int(wait_until(pid, timeout=60, what=f"worker pid of run {run_id}"))


def _pages_done(stack: Stack, root_run: str) -> int:
    with stack.platform.engine.connect() as conn:
        value = conn.execute(
            text("SELECT pages_done FROM erp_control.extract_checkpoints WHERE root_run_id = :r"),
            {"r": root_run},
        ).scalar()
    return int(value or 0)


def _in_load_step(stack: Stack, run_id: str) -> bool:
    """The run's load step has started (Dagster's event log)."""
    from dagster import DagsterEventType

    records = stack.instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    return any((r.dagster_event.step_key or "").endswith("__load") for r in records if r.dagster_event)


def _kill(stack: Stack, run_id: str, trigger: Any, what: str) -> str:
    """SIGKILL the run's worker once ``trigger`` fires; returns how the run ended (FAILURE when the kill
    hit it), or ``MISSED <status>`` when the run finished before the trigger fired."""
    pid = _worker_pid(stack, run_id)
    deadline = time.monotonic() + 120
    while not trigger():
        run = stack.instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            return f"MISSED {run.status.value}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return wait_for_run(stack.instance, run_id, timeout=120).value


def _requests(stack: Stack, run_id: str) -> int:
    with stack.platform.engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM erp_control.sdk_requests WHERE run_id = :r"), {"r": run_id})
            .scalar_one()
        )


def _all_steps_succeeded(stack: Stack, run_id: str) -> bool:
    stats = stack.instance.get_run_step_stats(run_id)
    return bool(stats) and all(s.status is not None and s.status.value == "SUCCESS" for s in stats)


def _resume(stack: Stack, run_id: str, what: str) -> str:

    action = RunControls(stack.instance, stack.platform.engine).resume(run_id)
    assert action.new_run_id, action.message
    status = wait_for_run(stack.instance, action.new_run_id, timeout=300)
    assert status.value == "SUCCESS", f"{what}: resumed run {action.new_run_id} ended {status.value}"
    return action.new_run_id


def test_kill_at_random_points_then_resume_equals_clean_run(big_erp: tuple[Stack, MockErpServer]) -> None:
    stack, _erp = big_erp
    rng = random.Random(SEED)
    _, status = stack.run(CLEAN, "crash_sync", timeout=600)
    assert status == "SUCCESS"
    clean = _comparable(stack.table(CLEAN, "customers", "customer_id"))
    assert len(clean) == ROWS

    extract_points = sorted(rng.sample(range(1, ROWS // PAGE - 1), 6))
    load_delays = [round(rng.uniform(0.0, 0.25), 3) for _ in range(5)]
    resumed_requests: list[int] = []
    for pages in extract_points:
        run_id = stack.launch(VICTIM, "crash_sync")
        what = f"extract page {pages} (seed {SEED})"
        ended = _kill(stack, run_id, lambda p=pages, r=run_id: _pages_done(stack, r) >= p, what)
        assert ended == "FAILURE", f"{what}: run {run_id} ended {ended} after SIGKILL"
        resumed_requests.append(_requests(stack, _resume(stack, run_id, what)))
        victim = _comparable(stack.table(VICTIM, "customers", "customer_id"))
        assert victim == clean, f"table differs after kill at extract page {pages} (seed {SEED})"
    load_hits = 0
    for delay in load_delays:
        # The load is one short transaction: a kill that lands after it committed is not a load crash;
        # try again with a shorter delay (the run still succeeded, and the table must still be clean).
        for attempt in range(4):
            run_id = stack.launch(VICTIM, "crash_sync")
            wait = delay / (2**attempt)

            def in_load(d: float = wait, r: str = run_id) -> bool:
                if not _in_load_step(stack, r):
                    return False
                time.sleep(d)
                return True

            what = f"load after {wait:.3f}s (seed {SEED})"
            ended = _kill(stack, run_id, in_load, what)
            if ended == "FAILURE" and _all_steps_succeeded(stack, run_id):
                # killed after its last step: resuming is refused (nothing to re-execute), not a load crash
                with pytest.raises(ConflictError, match="nothing to re-execute"):
                    RunControls(stack.instance, stack.platform.engine).resume(run_id)
                ended = "SUCCESS"
            if ended == "FAILURE":
                _resume(stack, run_id, what)
                load_hits += 1
            victim = _comparable(stack.table(VICTIM, "customers", "customer_id"))
            assert victim == clean, f"table differs after a kill in load ({what})"
            if ended == "FAILURE":
                break
    assert load_hits == len(load_delays), f"only {load_hits} kills landed inside the load (seed {SEED})"
    # a resumed extract continued from its checkpoint instead of starting over
    total_pages = ROWS // PAGE
    assert all(n < total_pages for n in resumed_requests), (resumed_requests, total_pages)


def test_kill_between_batched_checkpoints_rereads_only_the_unsaved_pages(
    big_erp: tuple[Stack, MockErpServer],
) -> None:
    """With ``checkpoint_rows`` above the page size, pages fetched after the last saved part are lost with
    the worker and read again on resume; nothing is duplicated or missed."""
    stack, _erp = big_erp
    expected = _comparable(stack.table(CLEAN, "customers", "customer_id"))
    if not expected:
        _, status = stack.run(CLEAN, "crash_sync", timeout=600)
        assert status == "SUCCESS"
        expected = _comparable(stack.table(CLEAN, "customers", "customer_id"))
    pages_per_part = PART_ROWS // PAGE
    run_id = stack.launch(BATCHED, "crash_sync")
    # two parts saved, then kill while the third part's pages are being fetched
    ended = _kill(stack, run_id, lambda: _pages_done(stack, run_id) >= 2 * pages_per_part, "two saved parts")
    assert ended == "FAILURE", f"run {run_id} ended {ended} after SIGKILL"
    saved = _pages_done(stack, run_id)
    assert saved % pages_per_part == 0, f"checkpoint at page {saved}, not at a part boundary"
    assert saved < ROWS // PAGE, f"the extract finished ({saved} pages) before the kill"
    new_run = _resume(stack, run_id, "batched checkpoints")
    # the resumed run reads every page after the last saved part (those fetched but unsaved again), no more
    assert _requests(stack, new_run) == ROWS // PAGE - saved, (_requests(stack, new_run), saved)
    assert _comparable(stack.table(BATCHED, "customers", "customer_id")) == expected


def _drop_table(stack: Stack, slug: str, table: str) -> None:
    from erp_platform.db import quote_ident, tenant_schema

    with stack.platform.engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {quote_ident(tenant_schema(slug))}.{quote_ident(table)}"))


def test_kill_during_a_parallel_extract_then_resume_equals_clean_run(big_erp: tuple[Stack, MockErpServer]) -> None:
    """Pages fetched ahead in parallel sessions, killed at random checkpoints: the resumed run continues from
    the checkpointed page (pages fetched ahead but not checkpointed are read again) and the table equals a
    clean run's. The table is dropped before each kill, so every resume is checked on its own."""
    stack, _erp = big_erp
    _, status = stack.run(PARALLEL, "crash_sync", timeout=600)
    assert status == "SUCCESS"
    clean = _comparable(stack.table(PARALLEL, "customers", "customer_id"))
    assert [row[1] for row in clean] == list(range(1, ROWS + 1))  # customer_id of every record, once
    total_pages = ROWS // PAGE
    for pages in sorted(random.Random(SEED + 16).sample(range(2, total_pages - 2), 3)):
        _drop_table(stack, PARALLEL, "customers")
        run_id = stack.launch(PARALLEL, "crash_sync")
        what = f"parallel extract page {pages} (seed {SEED})"
        ended = _kill(stack, run_id, lambda p=pages, r=run_id: _pages_done(stack, r) >= p, what)
        assert ended == "FAILURE", f"{what}: run {run_id} ended {ended} after SIGKILL"
        saved = _pages_done(stack, run_id)
        new_run = _resume(stack, run_id, what)
        # the pages after the checkpoint, plus at most 3 fetched ahead past the last page
        assert total_pages - saved <= _requests(stack, new_run) <= total_pages - saved + 3, (what, saved)
        assert _comparable(stack.table(PARALLEL, "customers", "customer_id")) == clean, what
