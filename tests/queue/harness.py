"""A real Dagster stack for queue tests: Postgres storage, the fork server, one gRPC code server per test
tenant (``tests.queue.locations``), the Dagster daemon, and an instance + workspace in the test process.

Runs are created like Dagster's sensor daemon creates them and submitted with ``instance.submit_run``,
so they go through ``ErpRunCoordinator`` (admission) exactly as UI, sensor and CLI launches do.
One stack is shared by the whole session (tests/queue and tests/observability): see :func:`shared_stack`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from sqlalchemy import Engine, text

from erp_platform.config import load_settings
from erp_platform.orchestration import QueuePolicy, dagster_home, prepare_dagster_home
from erp_platform.orchestration._forkclient import ForkServerUnavailable, call
from erp_platform.orchestration._supervisor import migrate_dagster
from erp_platform.tenancy import Quotas, TenantService
from tests.workflows.samples import insert_sdk

ROOT = Path(__file__).resolve().parents[2]
FREE, ENTERPRISE, STANDARD, OBSERVED = "qa_free", "qa_ent", "qa_std", "qa_obs"
SLUGS = {FREE: "free", ENTERPRISE: "enterprise", STANDARD: "standard", OBSERVED: "standard"}
FLOOD_QUOTAS: dict[str, int | None] = {"max_concurrent_workflows": 1000, "max_jobs_per_hour": 5000}
ACTIVE = (DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING,
          DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING)


@dataclass
class QueueStack:
    pg_url: str
    home: Path
    slugs: tuple[str, ...]
    policy: QueuePolicy | None = None
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    instance: DagsterInstance | None = None
    workspace: WorkspaceProcessContext | None = None
    _plans: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def workspace_path(self) -> Path:
        return self.home / "dagster" / "workspace.yaml"

    def start(self, timeout: float = 180.0) -> QueueStack:
        """Start every process; on failure stop what was started and re-raise."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> QueueStack:
        settings = load_settings(home=self.home, database_url=self.pg_url)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        base = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
        self.env = {**base, **prepare_dagster_home(settings, self.pg_url, self.policy),
                    "ERP_ACTOR": "test:queue", "ERP_PAUSE_HOLD_SECONDS": "300", "PYTHONPATH": str(ROOT)}
        migrate_dagster(self.env)
        sock = self.run_dir / "forkserver.sock"
        self._spawn("forkserver", [sys.executable, "-m", "erp_platform.orchestration._forkserver",
                                   "--socket", str(sock), "--log-dir", str(self.log_dir)])
        self._wait(lambda: bool(call(sock, {"op": "ping"}, timeout=2)), timeout, "fork server")
        entries = []
        for slug in self.slugs:
            code_sock = self.run_dir / f"code-{slug}.sock"
            if code_sock.exists():
                code_sock.unlink()
            self._spawn(f"code-{slug}", [str(Path(sys.executable).parent / "dagster"), "api", "grpc",
                                         "-m", "tests.queue.locations", "-a", slug, "-d", str(ROOT),
                                         "--socket", str(code_sock), "--location-name", f"tenant_{slug}"])
            entries.append({"grpc_server": {"socket": str(code_sock), "location_name": f"tenant_{slug}"}})
        self.workspace_path.write_text(yaml.safe_dump({"load_from": entries}))
        for slug in self.slugs:
            self._wait(lambda s=slug: self._ping_code_server(s), timeout, f"code server {slug}")
        self._spawn("daemon", [str(Path(sys.executable).parent / "dagster-daemon"), "run",
                               "-w", str(self.workspace_path)])
        os.environ.update({k: v for k, v in self.env.items() if k.startswith(("ERP_", "DAGSTER_"))})
        self.instance = DagsterInstance.from_config(str(dagster_home(settings)))
        target = WorkspaceFileTarget(paths=[str(self.workspace_path)])
        self.workspace = WorkspaceProcessContext(self.instance, target)
        self._wait(self._daemon_ready, timeout, "daemon heartbeat")
        return self

    def stop(self) -> None:
        if self.workspace is not None:
            self.workspace.__exit__(None, None, None)
            self.workspace = None
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None
        for name in ["daemon", *[n for n in self.procs if n.startswith("code-")], "forkserver"]:
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def stop_daemon(self) -> None:
        """Stop the daemon (runs submitted meanwhile stay queued; benchmarks pre-fill the queue this way)."""
        proc = self.procs.pop("daemon")
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)

    def start_daemon(self, timeout: float = 120.0) -> None:
        self._spawn("daemon", [str(Path(sys.executable).parent / "dagster-daemon"), "run",
                               "-w", str(self.workspace_path)])

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)

    def _wait(self, probe: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0]} exited while waiting for {what}; see {self.log_dir}")
            try:
                if probe():
                    return
            except (ForkServerUnavailable, Exception):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready within {timeout} s; see {self.log_dir}")

    def _ping_code_server(self, slug: str) -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        sock = self.run_dir / f"code-{slug}.sock"
        if not sock.exists():
            return False
        DagsterGrpcClient(socket=str(sock), host="localhost").ping("x")
        return True

    def _daemon_ready(self) -> bool:
        assert self.instance is not None
        beats = self.instance.get_daemon_heartbeats()
        beat = beats.get("QUEUED_RUN_COORDINATOR")
        return beat is not None and time.time() - beat.timestamp < 30

    # -- runs ------------------------------------------------------------------------------------------
    def create_run(self, slug: str, job: str = "quick", *, tags: Mapping[str, str] | None = None,
                   run_config: Mapping[str, Any] | None = None, location: str | None = None) -> DagsterRun:
        """Create a NOT_STARTED run of ``job`` in the tenant's location (as the sensor daemon does)."""
        assert self.instance is not None and self.workspace is not None
        location_name = location or f"tenant_{slug}"
        ctx = self.workspace.create_request_context()
        code_location = ctx.get_code_location(location_name)
        config = dict(run_config or {})
        key = (location_name, job, repr(sorted(config.items())))
        if key not in self._plans:
            repo = next(iter(code_location.get_repositories()))
            selector = JobSubsetSelector(location_name=location_name, repository_name=repo, job_name=job,
                                         op_selection=None)
            remote_job = code_location.get_job(selector)
            plan = code_location.get_execution_plan(remote_job, config, step_keys_to_execute=None,
                                                    known_state=None, instance=self.instance)
            self._plans[key] = (remote_job, plan.execution_plan_snapshot)
        remote_job, snapshot = self._plans[key]
        return self.instance.create_run(
            job_name=job, run_id=make_new_run_id(), run_config=config, resolved_op_selection=None,
            step_keys_to_execute=None, status=DagsterRunStatus.NOT_STARTED, op_selection=None,
            root_run_id=None, parent_run_id=None, tags={**(remote_job.run_tags or {}), **dict(tags or {})},
            job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
            asset_selection=None, asset_check_selection=None, asset_graph=None,
        )

    def submit(self, slug: str, job: str = "quick", **kwargs: Any) -> str:
        """Create and submit a run; raises its RunRefused when admission refuses it (the run is then marked
        failed to start, with the refusal's message)."""
        from erp_platform.queue import refusal_of

        assert self.instance is not None and self.workspace is not None
        run = self.create_run(slug, job, **kwargs)
        self.instance.submit_run(run.run_id, self.workspace.create_request_context())
        refused = refusal_of(self.instance, run.run_id)
        if refused is not None:
            raise refused
        return run.run_id

    def run(self, run_id: str) -> DagsterRun:
        assert self.instance is not None
        found = self.instance.get_run_by_id(run_id)
        assert found is not None
        return found

    def wait(self, run_id: str, statuses: Iterable[DagsterRunStatus], timeout: float = 90.0) -> DagsterRun:
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run.status in wanted:
                return run
            if time.monotonic() > deadline:
                names = sorted(s.value for s in wanted)
                raise AssertionError(f"run {run_id} is {run.status.value}, not {names} after {timeout} s; "
                                     f"worker log: {self.log_dir}/run-{run_id}.log")
            time.sleep(0.1)

    def wait_for_log(self, run_id: str, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages(run_id):
                if text in message:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no log line with {text!r} in run {run_id}: {self.messages(run_id)[-5:]}")

    def messages(self, run_id: str) -> list[str]:
        """Every log message of the run, with step failures' descriptions added."""
        assert self.instance is not None
        found: list[str] = []
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            found.append(entry.user_message or (event.message if event else "") or "")
            if event is not None and event.is_step_failure:
                data = event.step_failure_data
                user = data.user_failure_data.description if data.user_failure_data else None
                found.append(user or (data.error.message if data.error else ""))
        return found

    def event_times(self, run_id: str, event_type: DagsterEventType) -> list[float]:
        assert self.instance is not None
        records = self.instance.get_records_for_run(run_id, of_type=event_type).records
        return [r.event_log_entry.timestamp for r in records]

    def gate(self) -> tuple[Path, dict[str, Any]]:
        """A gate file path and the run config that makes ``hold``/``guarded`` wait for it."""
        path = self.home / "gates" / uuid.uuid4().hex
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, {"ops": {"gate": {"config": {"path": str(path)}}}}

    def cancel_all(self, slugs: Iterable[str] | None = None, timeout: float = 120.0) -> None:
        """Cancel every unfinished run (of ``slugs``) and wait until none is left: test isolation.

        A worker that dies from SIGTERM outside Dagster's interrupt handling leaves its run CANCELING
        until run monitoring's cancel timeout (60 s); such runs are marked cancelled here at once.
        """
        assert self.instance is not None
        from dagster import RunsFilter

        wanted = set(slugs) if slugs is not None else None
        deadline = time.monotonic() + timeout
        while True:
            runs = [r for r in self.instance.get_runs(RunsFilter(statuses=list(ACTIVE)))
                    if wanted is None or r.tags.get("erp/tenant") in wanted]
            if not runs:
                return
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(self._cancel_for_cleanup, runs))
            if time.monotonic() > deadline:
                raise AssertionError(f"runs still active after cleanup: {[r.run_id for r in runs]}")
            time.sleep(0.5)

    def _cancel_for_cleanup(self, run: DagsterRun) -> None:
        assert self.instance is not None
        if run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
            self.instance.report_run_canceled(run, message="test cleanup")
        elif run.status != DagsterRunStatus.CANCELING:
            self.instance.run_coordinator.cancel_run(run.run_id)
        elif not self._worker_alive(run):
            self.instance.report_run_canceled(run, message="test cleanup: the worker is gone")

    def _worker_alive(self, run: DagsterRun) -> bool:
        pid = run.tags.get("erp/worker_pid")
        if pid is None:
            return False
        reply = call(self.run_dir / "forkserver.sock", {"op": "status", "pid": int(pid)}, timeout=5)
        return bool(reply.get("alive"))

    def submit_refused(self, slug: str, job: str = "quick", **kwargs: Any) -> Refused:
        """Submit a run that admission must refuse; return the refusal as Dagster and the registry saw it."""
        from erp_platform.queue import refusal_of

        assert self.instance is not None and self.workspace is not None
        run = self.create_run(slug, job, **kwargs)
        submitted = self.instance.submit_run(run.run_id, self.workspace.create_request_context())
        refused = refusal_of(self.instance, run.run_id)
        if refused is None:
            raise AssertionError(f"run {run.run_id} of {slug} was admitted; expected a refusal")
        return Refused(run_id=run.run_id, reason=refused.reason.value, message=refused.message,
                       status=submitted.status, messages=self.messages(run.run_id))


@dataclass(frozen=True)
class Refused:
    run_id: str
    reason: str
    message: str
    status: DagsterRunStatus
    messages: list[str]


def ensure_tenants(engine: Engine, tenants: TenantService) -> None:
    """Create the test tenants once (with an SDK row each) and give the flood tenant room."""
    existing = {t.slug for t in tenants.list()}
    for slug, tier in SLUGS.items():
        if slug not in existing:
            tenants.create(slug, tier)
            insert_sdk(engine, slug)
    reset_tenants(engine, tenants)


def reset_tenants(engine: Engine, tenants: TenantService) -> None:
    """Baseline state of the test tenants: active, tier quotas (the flood tenant's raised), fresh buckets."""
    for slug in SLUGS:
        info = tenants.get(slug)
        if info.status != "active":
            tenants.set_status(slug, "active")
        wanted = {name: None for name in Quotas.names()} | (FLOOD_QUOTAS if slug == FREE else {})
        if info.quota_overrides != {k: v for k, v in wanted.items() if v is not None}:
            tenants.set_quotas(slug, wanted)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM erp_control.token_buckets WHERE bucket LIKE '%qa\\_%'"))


def clear_flags(engine: Engine) -> None:
    from erp_platform.controls import ControlFlags

    flags = ControlFlags(engine)
    for flag in flags.list(active_only=True):
        flags.clear(flag.id)


_shared: QueueStack | None = None


def shared_stack(pg_url: str, home: Path) -> QueueStack:
    """The session's stack (started on first use with every test tenant's code location)."""
    global _shared
    if _shared is None:
        _shared = QueueStack(pg_url=pg_url, home=home, slugs=tuple(SLUGS)).start()
    return _shared


def stop_shared_stack() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None
