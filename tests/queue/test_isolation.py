"""Tenant isolation in the queue: tenant A's flood, flags, spent quota or suspension never change
tenant B's admission; A's refusals are A's alone."""

from __future__ import annotations

from dagster import DagsterRunStatus
from sqlalchemy import Engine, text

from erp_platform.controls import ControlFlags
from erp_platform.tenancy import TenantService
from tests.queue.harness import ENTERPRISE, FREE, STANDARD, QueueStack

DONE = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def test_one_tenants_trouble_never_affects_anothers_admission(queue: QueueStack, engine: Engine,
                                                              tenants: TenantService) -> None:
    _, config = queue.gate()
    flood = [queue.submit(FREE, "hold", run_config=config) for _ in range(20)]  # queued behind its cap
    flags = ControlFlags(engine)
    flags.set(scope="tenant", scope_id=FREE, flag_type="block", reason="A misbehaves")
    flags.set(scope="workflow", scope_id=f"{FREE}/orders_sync", flag_type="pause", reason="A's workflow")
    flags.set(scope="sdk", scope_id=f"{FREE}/acme_erp", flag_type="block", reason="A's ERP")
    tenants.set_quotas(STANDARD, {"max_jobs_per_hour": 1})
    queue.submit(STANDARD)
    assert queue.submit_refused(STANDARD).reason == "quota_jobs_per_hour"
    tenants.set_status(STANDARD, "suspended")

    admitted = [queue.submit(ENTERPRISE) for _ in range(3)]
    for run_id in admitted:
        assert queue.wait(run_id, DONE).status == DagsterRunStatus.SUCCESS
    assert queue.submit_refused(FREE).reason == "flag_block"
    assert queue.submit_refused(STANDARD).reason == "tenant_suspended"
    with engine.connect() as conn:
        refused_tenants = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT tenant_slug FROM erp_control.run_refusals WHERE run_id = ANY(:ids)"),
            {"ids": admitted})}
    assert refused_tenants == set()
    assert sum(queue.run(r).status == DagsterRunStatus.QUEUED for r in flood) >= 15
