"""A running platform for end-to-end tests: the mock ERP, tenants with SDKs and workflows, and the local
Dagster stack (fork server, per-tenant code servers, daemon, optionally the webserver)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from erp_platform import Platform
from erp_platform.config import load_settings
from erp_platform.mock_erp import MockErpConfig, MockErpServer


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
    dev: Any  # erp_platform.orchestration._supervisor.DevStack
    instance: Any  # DagsterInstance

    @property
    def run_dir(self) -> Path:
        return self.platform.settings.resolved_home / "run"

    def onboard(self, slug: str, tier: str, *, erp_code: str = "acme", token: str = "tok-acme") -> None:
        """Tenant + credentials + explicit egress exception + the mock SDK built and activated."""
        from erp_platform.sdks import SdkService

        plat = self.platform
        plat.tenants.create(slug, tier)
        plat.credentials.set(slug, "token", token)
        plat.credentials.set(slug, "x_erp_tenant", erp_code)
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
        """Make the code servers match the registry now (the supervisor would within seconds)."""
        self.dev.sync_locations()

    def launch(self, slug: str, workflow: str, tags: dict[str, str] | None = None) -> str:
        from erp_platform.orchestration._launch import launch_workflow_run

        return launch_workflow_run(self.instance, self.run_dir, slug, workflow, tags)

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
                  port: int | None = None) -> Iterator[Stack]:
    """Start the mock ERP and the local Dagster stack on ``pg_url`` / ``home``; stop everything after."""
    saved = dict(os.environ)  # Dagster reads its instance settings from the environment: restore it after
    os.environ["ERP_HOME"] = str(home)
    os.environ["ERP_DATABASE_URL"] = pg_url
    try:
        yield from _stack(pg_url, home, rows=rows, webserver=webserver, port=port)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _stack(pg_url: str, home: Path, *, rows: int, webserver: bool, port: int | None) -> Iterator[Stack]:
    from erp_platform.orchestration._supervisor import DevStack
    from erp_platform.queue import open_instance
    from erp_platform.registry import migrate

    settings = load_settings(home=home, database_url=pg_url)
    with Platform(settings) as plat, MockErpServer(MockErpConfig(rows=rows, seed=7)) as mock:
        migrate(plat.engine)
        spec = httpx.get(f"{mock.base_url}/openapi.json", timeout=30).content
        with DevStack(plat, port=port or free_port(), webserver=webserver, metrics_port=-1) as dev, open_instance(
            plat, dev.dagster_env
        ) as instance:
            yield Stack(plat, mock, spec, dev, instance)


def wait_until(predicate: Any, *, timeout: float = 60, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
