"""``erp dev`` (DevStack) serves /metrics and /health, renders the tenant caps in use into dagster.yaml and
re-renders them (restarting the daemon) when a tenant's max_concurrent_jobs changes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from erp_platform._platform import Platform
from erp_platform.config import load_settings
from erp_platform.db import make_engine
from erp_platform.orchestration import dagster_home
from erp_platform.orchestration._supervisor import DevStack
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.support.database import fresh_database


@pytest.fixture
def restored_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def tenant_caps(home: Path) -> set[str]:
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    return {limit["key"] for limit in config["concurrency"]["runs"]["tag_concurrency_limits"]}


def test_dev_stack_serves_metrics_and_health_and_keeps_caps_current(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restored_environment: None) -> None:
    monkeypatch.setenv("ERP_QUEUE_ENFORCE_INTERVAL_SECONDS", "0.2")
    with fresh_database("erp_devstack") as url:
        engine = make_engine(url)
        migrate(engine)
        tenants = TenantService(engine)
        tenants.create("ds_one", "free")
        tenants.set_quotas("ds_one", {"max_concurrent_jobs": 3})
        with Platform(load_settings(home=tmp_path, database_url=url)) as plat:
            home = dagster_home(plat.settings)
            stack = DevStack(plat, webserver=False, daemon=True, metrics_port=0)
            try:
                stack.start()
                assert "erp/tenant_cap_3" in tenant_caps(home)
                metrics_url = stack.metrics_url
                assert metrics_url is not None
                deadline, health = time.monotonic() + 120, None
                while time.monotonic() < deadline:
                    health = httpx.get(f"{metrics_url}/health", timeout=30)
                    if health.status_code == 200:
                        break
                    time.sleep(1)
                assert health is not None and health.status_code == 200, health.text if health else None
                metrics = httpx.get(f"{metrics_url}/metrics", timeout=30).text
                assert 'erp_tier_run_limit{tier="free"} 5.0' in metrics

                daemon_pid = stack._procs["daemon"].popen.pid  # type: ignore[union-attr]
                tenants.set_quotas("ds_one", {"max_concurrent_jobs": 4})
                stack.supervise(interval=0.3, stop_after=2)
                assert "erp/tenant_cap_4" in tenant_caps(home)
                assert "erp/tenant_cap_3" not in tenant_caps(home)
                assert stack._procs["daemon"].popen.pid != daemon_pid  # type: ignore[union-attr]
            finally:
                stack.stop()
        engine.dispose()
    try:
        httpx.get(f"{metrics_url}/metrics", timeout=2)
        still_up = True
    except httpx.HTTPError:
        still_up = False
    assert still_up is False
