"""Fairness with the real daemon: a free tenant floods the queue with 200 runs, an enterprise tenant then
submits 10. The enterprise runs start within their own limits while the flood still waits, and no tier or
tenant ever has more runs in progress than its cap (sampled all along)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from dagster import DagsterRunStatus, RunsFilter
from sqlalchemy import Engine

from erp_platform.queue import QueueStatus, queue_status
from tests.queue.harness import ENTERPRISE, FREE, QueueStack

TIER_CAPS = {"free": 5, "standard": 20, "enterprise": 100}
TENANT_CAPS = {FREE: 2, ENTERPRISE: 50}


class Sampler(threading.Thread):
    """Samples the queue's state (runs in progress per tier and tenant) until stopped."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.samples: list[QueueStatus] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(queue_status(self.engine))
            self.stopped.wait(0.3)

    def stop(self) -> list[QueueStatus]:
        self.stopped.set()
        self.join()
        return self.samples


def test_a_free_flood_never_delays_an_enterprise_tenant(queue: QueueStack, engine: Engine) -> None:
    sampler = Sampler(engine)
    sampler.start()
    with ThreadPoolExecutor(4) as pool:  # submitted like a busy sensor and UI would: concurrently
        flood = list(pool.map(lambda _: queue.submit(FREE), range(200)))
    enterprise = [queue.submit(ENTERPRISE) for _ in range(10)]
    for run_id in enterprise:
        assert queue.wait(run_id, (DagsterRunStatus.SUCCESS,), timeout=180).status == DagsterRunStatus.SUCCESS
    assert queue.instance is not None
    statuses = [r.status for r in queue.instance.get_runs(RunsFilter(run_ids=flood))]
    assert len(statuses) == 200
    samples = sampler.stop()

    # the enterprise runs did not wait for the flood: most of it is still queued when they are all done
    assert statuses.count(DagsterRunStatus.QUEUED) >= 100
    assert all(s in (DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                     DagsterRunStatus.SUCCESS) for s in statuses)

    assert len(samples) >= 10
    for sample in samples:
        running = {t.tier: t.running for t in sample.tiers}
        assert all(running[tier] <= cap for tier, cap in TIER_CAPS.items()), running
        by_tenant = {t.slug: t.running for t in sample.tenants}
        assert all(by_tenant[slug] <= cap for slug, cap in TENANT_CAPS.items()), by_tenant
        assert sample.running <= sample.max_concurrent_runs
    assert max(s.tiers[0].running for s in samples) >= 1  # the flood really ran while sampled
    assert max(s.tiers[2].running for s in samples) >= 1  # and so did the enterprise runs
    queue.cancel_all([FREE])
