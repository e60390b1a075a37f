"""Fairness ratio: an enterprise tenant's p95 queue wait during a free-tier flood over its idle p95.

Idle: bursts of 10 enterprise runs on an otherwise empty queue. Flood: a free tenant queues 200 short runs
(its tier and tenant caps keep it at 2 in progress), then the same enterprise bursts are submitted while
the flood waits. Queue wait = ENQUEUED -> RUN_START from Dagster's event log. Target ratio <= 1.2.
Also prints the largest number of runs in progress per tier seen while sampling (never above the caps).

Settings: BENCH_FLOOD (default 200), BENCH_BURSTS (default 3).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import percentile, summary_ms, table
from dagster import DagsterEventType, DagsterRunStatus

from erp_platform.db import make_engine
from erp_platform.queue import queue_status
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.queue.harness import QueueStack
from tests.support.database import fresh_database

FLOOD = int(os.environ.get("BENCH_FLOOD", "200"))
BURSTS = int(os.environ.get("BENCH_BURSTS", "3"))
FREE, ENTERPRISE = "bench_free", "bench_ent"
DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def queue_wait(stack: QueueStack, run_id: str) -> float:
    enqueued = stack.event_times(run_id, DagsterEventType.RUN_ENQUEUED)[0]
    started = stack.event_times(run_id, DagsterEventType.RUN_START)[0]
    return started - enqueued


def bursts(stack: QueueStack) -> list[float]:
    waits: list[float] = []
    for _ in range(BURSTS):
        runs = [stack.submit(ENTERPRISE) for _ in range(10)]
        for run_id in runs:
            assert stack.wait(run_id, DONE, timeout=300).status == DagsterRunStatus.SUCCESS
        waits += [queue_wait(stack, r) for r in runs]
    return waits


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        tenants = TenantService(engine)
        tenants.create(FREE, "free")
        tenants.create(ENTERPRISE, "enterprise")
        tenants.set_quotas(FREE, {"max_jobs_per_hour": 100000, "max_concurrent_workflows": 100000})
        home = Path(tempfile.mkdtemp(prefix="erp-bench-fair-"))
        stack = QueueStack(pg_url=url, home=home, slugs=(FREE, ENTERPRISE)).start()
        peaks = {"free": 0, "standard": 0, "enterprise": 0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for tier in queue_status(engine).tiers:
                    peaks[tier.tier] = max(peaks[tier.tier], tier.running)
                stop.wait(0.3)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            for _ in range(3):
                stack.wait(stack.submit(ENTERPRISE), DONE)
                stack.wait(stack.submit(FREE), DONE)
            idle = bursts(stack)
            with ThreadPoolExecutor(4) as pool:
                flood = list(pool.map(lambda _: stack.submit(FREE), range(FLOOD)))
            queued_before = sum(stack.run(r).status == DagsterRunStatus.QUEUED for r in flood)
            during = bursts(stack)
            queued_after = sum(stack.run(r).status == DagsterRunStatus.QUEUED for r in flood)
            stack.cancel_all([FREE])
        finally:
            stop.set()
            sampler.join()
            stack.stop()
            engine.dispose()

    ratio = percentile(during, 95) / percentile(idle, 95)
    print(f"enterprise queue wait, idle:           {summary_ms(idle)}")
    print(f"enterprise queue wait, during a flood: {summary_ms(during)}")
    print(f"free runs still queued: {queued_before} when the enterprise bursts began, {queued_after} after")
    table("fairness (this machine: 2 cores)", ["measure", "value"], [
        ["enterprise p95 queue wait, idle", f"{percentile(idle, 95):.2f} s"],
        [f"enterprise p95 queue wait, {FLOOD}-run free flood", f"{percentile(during, 95):.2f} s"],
        ["fairness ratio (target <= 1.2)", f"{ratio:.2f}"],
        ["peak runs in progress: free / standard / enterprise (caps 5 / 20 / 100)",
         f"{peaks['free']} / {peaks['standard']} / {peaks['enterprise']}"],
    ])


if __name__ == "__main__":
    main()
