"""Test code locations: ``tests.queue.locations:<slug>`` is a small Definitions object for tenant <slug>.

Jobs (all in-process, so a run is one forked worker):
- ``quick``: one op that returns at once.
- ``hold``: one op that waits until the file named by its config exists (a gate the test opens).
- ``guarded``: the gate, then a step that runs the platform's ``StepGuard`` first (flags, run pauses),
  for a workflow identified by the run's ``erp/workflow`` and ``erp/workflow_version`` tags.
- ``load``: an asset that reports load metadata as the platform's load assets do (42 rows merged,
  40 of them written).
"""


import time
from pathlib import Path
from typing import Any

import dagster as dg


class GateConfig(dg.Config):
    path: str = ""
    timeout: float = 120.0


def _wait_for_gate(config: GateConfig) -> None:
    if not config.path:
        return
    deadline = time.monotonic() + config.timeout
    while not Path(config.path).exists():
        if time.monotonic() > deadline:
            raise dg.Failure(f"gate {config.path} was not opened within {config.timeout} s")
        time.sleep(0.05)


def build(slug: str) -> dg.Definitions:
    tags = {"erp/tenant": slug}

    @dg.op(name="quick_step")
    def quick() -> int:
        return 1

    @dg.op
    def gate(config: GateConfig) -> int:
        _wait_for_gate(config)
        return 1

    @dg.op(name="guarded_step")
    def guarded(context: dg.OpExecutionContext, upstream: int) -> int:
        from erp_platform.orchestration._guard import StepGuard, StepIdentity
        from erp_platform.orchestration._process import process_platform
        from erp_platform.queue import parse_sdks
        from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

        engine = process_platform().engine
        run_tags = dict(context.run.tags)
        workflow, version = run_tags["erp/workflow"], int(run_tags["erp/workflow_version"])
        record, _ = WorkflowRegistry(engine, registry_catalog_factory(engine)).get(slug, workflow, version)
        sdks = tuple((name, v) for name, v in parse_sdks(run_tags.get("erp/sdks")) if v is not None)
        identity = StepIdentity(tenant=slug, workflow=workflow, version=version,
                                content_hash=record.content_hash, activity="guarded", sdks=sdks)
        StepGuard.for_context(identity, context).check(run_tags)
        return upstream + 1

    @dg.job(name="quick", tags=tags, executor_def=dg.in_process_executor)
    def quick_job() -> None:
        quick()

    @dg.job(name="hold", tags=tags, executor_def=dg.in_process_executor)
    def hold_job() -> None:
        gate()

    @dg.job(name="guarded", tags=tags, executor_def=dg.in_process_executor)
    def guarded_job() -> None:
        guarded(gate())

    @dg.asset(key=[slug, "obs", "load"])
    def load_asset() -> dg.MaterializeResult:  # type: ignore[type-arg]
        return dg.MaterializeResult(metadata={"erp/rows_in": 45, "erp/duplicates": 3, "erp/inserted": 30,
                                              "erp/updated": 10, "erp/unchanged": 2})

    load_job = dg.define_asset_job("load", selection=[load_asset], tags=tags,
                                   executor_def=dg.in_process_executor)
    return dg.Definitions(assets=[load_asset], jobs=[quick_job, hold_job, guarded_job, load_job])


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return build(name)
