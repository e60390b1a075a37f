"""Run-queue latency and throughput on this machine, with the real daemon, coordinator and fork server.

Measures, from Dagster's event log:
- queue-to-start latency: ENQUEUED -> RUN_START of one short run at a time (target p50 <= 1.5 s), split
  into ENQUEUED -> STARTING (the daemon dequeues) and STARTING -> RUN_START (fork + worker start);
- admission cost: the time ``submit_run`` spends in the coordinator (admission + enqueue);
- throughput: runs per minute for short in-process runs submitted at once (tenant cap 10, standard tier).

Runs against a throwaway database. Settings: BENCH_SEQUENTIAL (default 30), BENCH_BURST (default 120).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import percentile, summary_ms, table
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

from erp_platform.db import make_engine
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.queue.harness import QueueStack
from tests.support.database import fresh_database

SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "30"))
BURST = int(os.environ.get("BENCH_BURST", "120"))
TENANT = "bench_std"
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
PHASES = (DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START,
          DagsterEventType.RUN_SUCCESS)


def phases(stack: QueueStack, run_id: str) -> dict[DagsterEventType, float]:
    assert stack.instance is not None
    found: dict[DagsterEventType, float] = {}
    for entry in stack.instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.event_type in PHASES and event.event_type not in found:
            found[event.event_type] = entry.timestamp
    return found


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        tenants = TenantService(engine)
        tenants.create(TENANT, "standard")
        tenants.set_quotas(TENANT, {"max_jobs_per_hour": 100000, "max_concurrent_workflows": 100000})
        home = Path(tempfile.mkdtemp(prefix="erp-bench-queue-"))
        stack = QueueStack(pg_url=url, home=home, slugs=(TENANT,)).start()
        try:
            for _ in range(3):  # warm up the daemon, code server and fork server
                stack.wait(stack.submit(TENANT), DONE)
            latency, dequeue, launch, execute, submit = [], [], [], [], []
            for _ in range(SEQUENTIAL):
                started = time.perf_counter()
                run_id = stack.submit(TENANT)
                submit.append(time.perf_counter() - started)
                assert stack.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS
                t = phases(stack, run_id)
                latency.append(t[DagsterEventType.RUN_START] - t[DagsterEventType.RUN_ENQUEUED])
                dequeue.append(t[DagsterEventType.RUN_STARTING] - t[DagsterEventType.RUN_ENQUEUED])
                launch.append(t[DagsterEventType.RUN_START] - t[DagsterEventType.RUN_STARTING])
                execute.append(t[DagsterEventType.RUN_SUCCESS] - t[DagsterEventType.RUN_START])

            begin = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                burst = list(pool.map(lambda _: stack.submit(TENANT), range(BURST)))
            submitted = time.perf_counter() - begin
            for run_id in burst:
                stack.wait(run_id, DONE, timeout=900)
            wall = time.perf_counter() - begin

            stack.stop_daemon()  # pre-fill the queue, then let the daemon drain it: execution rate alone
            with ThreadPoolExecutor(4) as pool:
                queued = list(pool.map(lambda _: stack.submit(TENANT), range(BURST)))
            stack.start_daemon()
            for run_id in queued:
                stack.wait(run_id, DONE, timeout=900)
            drained = [phases(stack, r) for r in queued]
            drain_first = min(s[DagsterEventType.RUN_STARTING] for s in drained)
            drain_last = max(s[DagsterEventType.RUN_SUCCESS] for s in drained
                             if DagsterEventType.RUN_SUCCESS in s)
            drain_ok = sum(DagsterEventType.RUN_SUCCESS in s for s in drained)
            assert stack.instance is not None
            runs = stack.instance.get_runs(RunsFilter(run_ids=burst))
            ok = sum(r.status == DagsterRunStatus.SUCCESS for r in runs)
            stamps = [phases(stack, r) for r in burst]
            first = min(s[DagsterEventType.RUN_ENQUEUED] for s in stamps)
            last = max(s[DagsterEventType.RUN_SUCCESS] for s in stamps if DagsterEventType.RUN_SUCCESS in s)
            burst_waits = [s[DagsterEventType.RUN_START] - s[DagsterEventType.RUN_ENQUEUED] for s in stamps]
        finally:
            stack.stop()
            engine.dispose()

    print(f"queue-to-start (ENQUEUED -> RUN_START), one run at a time: {summary_ms(latency)}")
    print(f"  ENQUEUED -> STARTING (daemon dequeue):      {summary_ms(dequeue)}")
    print(f"  STARTING -> RUN_START (fork + worker start): {summary_ms(launch)}")
    print(f"  RUN_START -> SUCCESS (1-op in-process run):  {summary_ms(execute)}")
    print(f"  create + submit_run (admission + enqueue):   {summary_ms(submit)}")
    print(f"burst of {BURST}: {ok} succeeded; submitted in {submitted:.1f} s; all done {wall:.1f} s after "
          f"the first submit; first ENQUEUED -> last SUCCESS {last - first:.1f} s")
    table("queue latency and throughput (this machine: 2 cores)", ["measure", "value"], [
        ["queue-to-start p50 (target <= 1.5 s)", f"{percentile(latency, 50):.2f} s"],
        ["queue-to-start p95", f"{percentile(latency, 95):.2f} s"],
        ["dequeue p50 / p95", f"{percentile(dequeue, 50):.2f} s / {percentile(dequeue, 95):.2f} s"],
        ["fork + worker start p50 / p95", f"{percentile(launch, 50):.2f} s / {percentile(launch, 95):.2f} s"],
        ["submit_run (admission + enqueue) p50", f"{percentile(submit, 50) * 1000:.0f} ms"],
        [f"runs per minute, {BURST} submitted at once (incl. submission)", f"{ok / (last - first) * 60:.0f}"],
        [f"runs per minute, {BURST} pre-queued runs drained (tenant cap 10)",
         f"{drain_ok / (drain_last - drain_first) * 60:.0f}"],
        ["queue wait in the burst p50 / p95",
         f"{percentile(burst_waits, 50):.1f} s / {percentile(burst_waits, 95):.1f} s"],
    ])


if __name__ == "__main__":
    main()
