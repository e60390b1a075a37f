"""``ErpRunLauncher``: launches each Dagster run in a child forked from the warm fork server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from dagster import _check as check
from dagster._config import StringSource
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from erp_platform.orchestration._forkclient import ForkServerUnavailable, call

WORKER_PID_TAG = "erp/worker_pid"


class ErpRunLauncher(RunLauncher, ConfigurableClass):
    """Forks a warm run worker per run (about 0.1 s to start instead of about 2 s for a new interpreter).

    Health checks let Dagster's run monitoring mark runs whose worker died (killed, OOM) as failed, so
    they can be re-executed from failure.
    """

    def __init__(self, socket: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._socket = socket
        self._inst_data = inst_data
        super().__init__()  # type: ignore[no-untyped-call]

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"socket": StringSource}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return cls(socket=config_value["socket"], inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        reply = call(self._socket, {"op": "launch_run", "run_id": run.run_id})
        pid = int(reply["pid"])
        self._instance.add_run_tags(run.run_id, {WORKER_PID_TAG: str(pid)})
        self._instance.report_engine_event(f"Forked run worker (pid {pid}) from the fork server.", run)

    def terminate(self, run_id: str) -> bool:
        check.str_param(run_id, "run_id")
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        pid = run.tags.get(WORKER_PID_TAG)
        if pid is None:
            return False
        try:
            reply = call(self._socket, {"op": "terminate", "pid": int(pid)})
        except ForkServerUnavailable:
            return False
        return bool(reply.get("signalled"))

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        pid = run.tags.get(WORKER_PID_TAG)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "no worker pid recorded")
        try:
            reply = call(self._socket, {"op": "status", "pid": int(pid)}, timeout=5)
        except ForkServerUnavailable as exc:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, str(exc), transient=True)
        if not reply.get("known"):
            return CheckRunHealthResult(
                WorkerStatus.NOT_FOUND, f"run worker pid {pid} is unknown to the fork server"
            )
        if reply.get("alive"):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        code = reply.get("exit_code")
        if code == 0:
            return CheckRunHealthResult(WorkerStatus.SUCCESS, run_worker_id=pid)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"run worker pid {pid} exited with code {code}", run_worker_id=pid
        )
