"""max_jobs_per_hour under concurrent submits: threads through the real coordinator and separate
processes through the same admission code never admit more runs than the quota."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from erp_platform.db import make_engine
from erp_platform.queue import AdmissionControl, RunRefused, RunRequest, SqlRunCounter
from erp_platform.tenancy import TenantService
from tests.queue.harness import STANDARD, QueueStack


def test_concurrent_submits_from_threads_never_exceed_the_quota(queue: QueueStack,
                                                                tenants: TenantService) -> None:
    tenants.set_quotas(STANDARD, {"max_jobs_per_hour": 12, "max_concurrent_workflows": 100})

    def submit(_: int) -> str:
        try:
            queue.submit(STANDARD)
            return "admitted"
        except RunRefused as exc:
            return exc.reason.value

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(submit, range(30)))
    assert outcomes.count("admitted") == 12
    assert outcomes.count("quota_jobs_per_hour") == 18


def _admit_in_process(url: str, attempts: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url, pool_size=2)
    control = AdmissionControl(engine)
    admitted = 0
    for _ in range(attempts):
        request = RunRequest(run_id=f"proc-{uuid.uuid4().hex}", job_name="quick",
                             location=f"tenant_{STANDARD}", tags={})
        try:
            control.check(request, SqlRunCounter(engine))
            admitted += 1
        except RunRefused:
            pass
    out.put(admitted)
    engine.dispose()


def test_concurrent_admissions_from_processes_never_exceed_the_quota(queue: QueueStack, pg_url: str,
                                                                     engine: Engine,
                                                                     tenants: TenantService) -> None:
    tenants.set_quotas(STANDARD, {"max_jobs_per_hour": 9})
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_admit_in_process, args=(pg_url, 6, out)) for _ in range(3)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(60)
    assert sum(results) == 9
