"""Health checks: database, object store, credential store (local and Vault), daemon heartbeats; the CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from erp_platform._platform import Platform
from erp_platform.config import load_settings
from erp_platform.observability import ObservabilitySettings, check_health
from erp_platform.queue import open_instance
from tests.queue.harness import QueueStack
from tests.support.cli import ErpCli
from tests.support.database import fresh_database
from tests.support.vault_server import VaultTestServer


@pytest.fixture
def restored_environment() -> Iterator[None]:
    """open_instance sets DAGSTER_HOME and friends in this process: put them back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_everything_is_healthy_with_the_stack_running(stack: QueueStack, platform: Platform) -> None:
    report = check_health(platform, instance=stack.instance)
    assert report.ok, report
    names = [c.name for c in report.checks]
    assert names == ["database", "object_store", "credential_store", "dagster_daemon"]
    details = {c.name: c.detail for c in report.checks}
    assert details["database"].endswith("control-plane schema up to date")
    assert details["object_store"] == "LocalObjectStore answers"
    assert details["credential_store"].startswith("local encrypted store, master key ")
    assert "QUEUED_RUN_COORDINATOR" in details["dagster_daemon"]


def test_a_stale_heartbeat_is_unhealthy(stack: QueueStack, platform: Platform) -> None:
    report = check_health(platform, instance=stack.instance,
                          settings=ObservabilitySettings(daemon_heartbeat_tolerance_seconds=0.000001))
    daemon = report.checks[-1]
    assert (report.ok, daemon.ok) == (False, False)
    assert daemon.detail.startswith("RuntimeError: last heartbeat of ")
    assert "QUEUED_RUN_COORDINATOR" in daemon.detail


def test_no_daemon_means_no_heartbeat(tmp_path: Path, restored_environment: None) -> None:
    with fresh_database("erp_health") as url:
        from erp_platform.db import make_engine
        from erp_platform.registry import migrate

        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        settings = load_settings(home=tmp_path, database_url=url)
        with Platform(settings) as plat, open_instance(plat) as instance:
            report = check_health(plat, instance=instance)
            instance.dispose()
    daemon = report.checks[-1]
    assert (daemon.name, daemon.ok) == ("dagster_daemon", False)
    assert daemon.detail.startswith("RuntimeError: no heartbeat from ")
    assert "SENSOR" in daemon.detail
    assert daemon.detail.endswith(": the Dagster daemon is not running; start the platform with `erp dev`")
    assert all(c.ok for c in report.checks[:-1])


def test_only_fresh_heartbeats_are_healthy(tmp_path: Path, restored_environment: None) -> None:
    """Heartbeats 85 s old (the daemon stopped a minute and a half ago) are unhealthy with the default
    tolerance; heartbeats written now are healthy."""
    import time

    from dagster._daemon.types import DaemonHeartbeat

    with fresh_database("erp_health") as url:
        from erp_platform.db import make_engine
        from erp_platform.registry import migrate

        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        settings = load_settings(home=tmp_path, database_url=url)
        with Platform(settings) as plat, open_instance(plat) as instance:
            required = sorted(instance.get_required_daemon_types())

            def beat(age: float) -> None:
                for daemon_type in required:
                    instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - age, daemon_type, "d1", []))

            beat(85)
            stale = check_health(plat, instance=instance).checks[-1]
            beat(0)
            fresh = check_health(plat, instance=instance).checks[-1]
            instance.wipe_daemon_heartbeats()
            gone = check_health(plat, instance=instance).checks[-1]
            instance.dispose()
    assert stale.ok is False
    assert stale.detail.startswith(f"RuntimeError: last heartbeat of {', '.join(required)} ")
    assert stale.detail.endswith(" s ago (fresh means within 60 s): the daemon stopped or hangs; see "
                                 "`erp status` and its log")
    assert fresh.ok is True
    assert fresh.detail.startswith("heartbeats: ")
    assert gone.ok is False
    assert gone.detail == (f"RuntimeError: no heartbeat from {', '.join(required)}: the Dagster daemon is not "
                           "running; start the platform with `erp dev`")


def test_a_sealed_vault_is_unhealthy(pg_url: str, tmp_path: Path, stack: QueueStack) -> None:
    with VaultTestServer() as vault:
        url = vault.url
        settings = load_settings(home=tmp_path, database_url=pg_url, vault_addr=vault.url,
                                 vault_token=vault.root_token)
        with Platform(settings) as plat:
            healthy = check_health(plat, instance=stack.instance).checks[2]
            vault.sealed = True
            sealed = check_health(plat, instance=stack.instance).checks[2]
    assert (healthy.ok, healthy.detail) == (True, f"Vault at {url} is unsealed")
    assert (sealed.ok, sealed.detail) == (
        False, f"RuntimeError: Vault at {url} is sealed: unseal it (`vault operator unseal`)")


def test_an_unreachable_database_is_reported_not_raised(tmp_path: Path, stack: QueueStack) -> None:
    settings = load_settings(home=tmp_path, database_url="postgresql://postgres@127.0.0.1:1/nothing")
    with Platform(settings) as plat:
        report = check_health(plat, instance=stack.instance)
    database = report.checks[0]
    assert (report.ok, database.ok) == (False, False)
    assert database.detail.startswith("OperationalError: ")


def test_the_health_command(stack: QueueStack, erp: ErpCli) -> None:
    result = erp("health", "--json")
    assert result.code == 0, result.stderr + result.stdout
    report = result.json()
    assert report["ok"] is True
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "database": True, "object_store": True, "credential_store": True, "dagster_daemon": True}
    nowhere = ErpCli(database_url="postgresql://postgres@127.0.0.1:1/nothing", home=erp.home)
    broken = nowhere("health", "--json")
    assert broken.code == 1
    assert broken.json()["ok"] is False
