"""A running platform for end-to-end tests: the mock ERP, tenants with SDKs and workflows, and the local
Dagster stack (fork server, per-tenant code servers, daemon, optionally the webserver)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from erp_platform import Platform
from erp_platform.config import load_settings
from erp_platform.mock_erp import MockErpConfig, MockErpServer
from erp_platform.orchestration._process import reset_process_platform

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """Handles to everything an end-to-end test needs."""

    platform: Platform
    mock: MockErpServer
    spec: bytes
    dev: Any  # erp_platform.orchestration._supervisor.DevStack (webserver, daemon; code servers unless split)
    instance: Any  # DagsterInstance
    workers: Any = None  # split stock stack: the DevStack of the "workers host" (code servers, runs)

    @property
    def code_host(self) -> Any:
        """The DevStack that runs the tenant code servers."""
        return self.workers if self.workers is not None else self.dev

    @property
    def run_dir(self) -> Path:
        return self.platform.settings.resolved_home / "run"

    def onboard(self, slug: str, tier: str, *, erp_code: str = "acme", token: str = "tok-acme") -> None:
        """Tenant + credentials + explicit egress exception + the mock SDK built and activated."""
        from erp_platform.sdks import SdkService

        plat = self.platform
        plat.tenants.create(slug, tier)
        plat.credentials.set(slug, "token", token, sdk="mock_erp")
        plat.credentials.set(slug, "x_erp_tenant", erp_code, sdk="mock_erp")
        plat.tenants.allow_private_egress(slug, self.mock.base_url.split("://", 1)[1])
        sdks = SdkService.from_platform(plat)
        built = sdks.build(slug, self.spec, filename="mock.openapi.json", name="mock_erp")
        assert built.status == "TESTING", built.test_results
        sdks.activate(slug, "mock_erp", built.version)

    def apply_workflow(self, slug: str, text_: str, *, activate: bool = True,
                       params: dict[str, str] | None = None) -> Any:
        from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

        registry = WorkflowRegistry(self.platform.engine, registry_catalog_factory(self.platform.engine))
        record, _ = registry.apply(slug, text_, "workflow.yaml", params)
        if activate and record.status != "ACTIVE":
            record = registry.activate(slug, record.workflow_id, record.version)
        self.refresh_locations()
        return record

    def refresh_locations(self) -> None:
        """Make the code servers match the registry now (the supervisors would within seconds)."""
        if self.workers is not None:
            self.workers.sync_locations()
        self.dev.sync_locations()

    def launch(self, slug: str, workflow: str, tags: dict[str, str] | None = None) -> str:
        from erp_platform.orchestration._launch import launch_workflow_run

        return launch_workflow_run(self.instance, slug, workflow, tags)

    def run(self, slug: str, workflow: str, *, timeout: float = 600) -> tuple[str, str]:
        from erp_platform.orchestration._launch import wait_for_run

        run_id = self.launch(slug, workflow)
        return run_id, wait_for_run(self.instance, run_id, timeout=timeout).value

    def table(self, slug: str, table: str, order_by: str) -> list[dict[str, Any]]:
        from erp_platform.tenancy import tenant_transaction

        info = self.platform.tenants.get(slug)
        with tenant_transaction(self.platform.engine, info) as conn:
            rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY "{order_by}"')).mappings().all()
        return [dict(r) for r in rows]


@contextmanager
def running_stack(pg_url: str, home: Path, *, rows: int = 300, webserver: bool = False,
                  port: int | None = None, process_mode: str = "forkserver", split: bool = False,
                  env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start the mock ERP and the local Dagster stack on ``pg_url`` / ``home``; stop everything after.

    ``process_mode`` is ``ERP_PROCESS_MODE``: ``forkserver`` (the default) or ``stock`` (Dagster's
    DefaultRunLauncher and one ``dagster code-server start`` per tenant over TCP). ``split`` (stock only)
    runs the deployment of docker-compose.yml on one machine: a "workers host" (code servers and runs, its
    own ERP_HOME) and a "control host" (webserver and daemon, ``--no-workers``, another ERP_HOME) that share
    nothing but the database, the object store and the credential key, and talk gRPC over TCP. ``env`` adds
    settings every process of the stack reads.
    """
    saved = dict(os.environ)  # Dagster reads its instance settings from the environment: restore it after
    os.environ["ERP_HOME"] = str(home)
    os.environ["ERP_DATABASE_URL"] = pg_url
    os.environ["ERP_PROCESS_MODE"] = process_mode
    os.environ.update(env or {})  # further ERP_* settings of every process of the stack
    if split:
        import base64

        os.environ["ERP_OBJECT_STORE_URL"] = (home.parent / f"{home.name}-objects").as_uri()  # stands in for S3
        os.environ["ERP_MASTER_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
        os.environ["ERP_CODE_SERVER_PORT_BASE"] = str(free_port() - 1)  # the first tenant (id 1) gets a free port
    reset_process_platform()  # this process's platform (IO manager reads, SDK resources) is the stack's
    try:
        yield from _stack(pg_url, home, rows=rows, webserver=webserver, port=port, split=split)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_process_platform()


def shared_wasm_cache() -> Path:
    """The test sessions' WASM cache (components and precompiled code by content hash, kept between sessions)."""
    path = Path(os.environ.get("ERP_TEST_WASM_CACHE", REPO / ".erp" / "cache" / "wasm"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _use_shared_wasm_cache(home: Path) -> None:
    """Point ``home``'s WASM cache at the shared one, so each stack does not compile the same SDK again."""
    link = home / "cache" / "wasm"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared_wasm_cache(), target_is_directory=True)


def _stack(pg_url: str, home: Path, *, rows: int, webserver: bool, port: int | None,
           split: bool) -> Iterator[Stack]:
    from erp_platform.orchestration._supervisor import DevStack
    from erp_platform.queue import open_instance
    from erp_platform.registry import migrate

    settings = load_settings(home=home, database_url=pg_url)
    _use_shared_wasm_cache(home)
    with Platform(settings) as plat, MockErpServer(MockErpConfig(rows=rows, seed=7)) as mock, ExitStack() as hosts:
        migrate(plat.engine)
        spec = httpx.get(f"{mock.base_url}/openapi.json", timeout=30).content
        workers = None
        if split:
            worker_settings = load_settings(home=home.parent / f"{home.name}-workers", database_url=pg_url)
            _use_shared_wasm_cache(worker_settings.resolved_home)
            worker_platform = hosts.enter_context(Platform(worker_settings))
            workers = hosts.enter_context(DevStack(worker_platform, webserver=False, daemon=False, metrics_port=-1))
        dev = hosts.enter_context(
            DevStack(plat, port=port or free_port(), webserver=webserver, workers=not split, metrics_port=-1)
        )
        instance = hosts.enter_context(open_instance(plat, dev.dagster_env))
        yield Stack(plat, mock, spec, dev, instance, workers)


def wait_until(predicate: Any, *, timeout: float = 60, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
