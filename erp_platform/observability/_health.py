"""Health of the platform: database, object store, credential store and the Dagster daemon's heartbeats."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text

from erp_platform._platform import Platform

if TYPE_CHECKING:
    from dagster import DagsterInstance


class ObservabilitySettings(BaseSettings):
    """Where ``erp dev`` serves ``/metrics`` and ``/health``, and how old a daemon heartbeat may be."""

    model_config = SettingsConfigDict(env_prefix="ERP_", extra="ignore", frozen=True)

    metrics_host: str = Field("127.0.0.1", description="address of the metrics and health endpoint")
    metrics_port: int = Field(9464, ge=0, le=65535, description="port of /metrics and /health (0: any free)")
    daemon_heartbeat_tolerance_seconds: float = Field(
        60.0, gt=0,
        description="a daemon whose last heartbeat is older is reported unhealthy (daemons beat every 30 s)",
    )


class HealthCheck(BaseModel):
    """One component's health."""

    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    detail: str
    seconds: float = Field(description="time the check took")


class HealthReport(BaseModel):
    """Every component's health; ``ok`` only when all are."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    at: datetime
    checks: list[HealthCheck]


def _timed(name: str, check: Callable[[], str]) -> HealthCheck:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports failures, it never raises them
        detail, ok = f"{type(exc).__name__}: {exc}"[:500], False
    return HealthCheck(name=name, ok=ok, detail=detail, seconds=round(time.perf_counter() - started, 4))


def _database(platform: Platform) -> str:
    with platform.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    platform.require_initialised()
    return f"PostgreSQL {version}, control-plane schema up to date"


def _object_store(platform: Platform) -> str:
    from erp_platform.objectstore import tenant_key

    store = platform.objects
    store.exists(tenant_key("healthcheck", "probe"))
    return f"{type(store).__name__} answers"


def _credential_store(platform: Platform) -> str:
    from erp_platform.credentials import LocalEncryptedStore, VaultStore

    store = platform.credentials
    if isinstance(store, VaultStore):
        import httpx

        addr = platform.settings.vault_addr
        reply = httpx.get(f"{addr}/v1/sys/health", timeout=5)
        body = reply.json() if reply.content else {}
        if body.get("sealed"):
            raise RuntimeError(f"Vault at {addr} is sealed: unseal it (`vault operator unseal`)")
        if reply.status_code not in (200, 429, 473):
            raise RuntimeError(f"Vault at {addr} answered /v1/sys/health with HTTP {reply.status_code}")
        return f"Vault at {addr} is unsealed"
    if isinstance(store, LocalEncryptedStore):
        key = store.master_key
        return f"local encrypted store, master key {key.key_id[:8]} loaded"
    return f"{type(store).__name__} configured"


def _daemon(instance: DagsterInstance, tolerance: float) -> str:
    """Fresh heartbeats of every required daemon, or what is wrong (missing, stale, reporting errors)."""
    heartbeats = instance.get_daemon_heartbeats()
    required = sorted(instance.get_required_daemon_types())
    now = time.time()
    missing, stale, errors, fine = [], [], [], []
    oldest = 0.0
    for daemon_type in required:
        beat = heartbeats.get(daemon_type)
        if beat is None:
            missing.append(daemon_type)
            continue
        age = now - beat.timestamp
        if age > tolerance:
            stale.append(daemon_type)
            oldest = max(oldest, age)
        elif beat.errors:
            errors.append(f"{daemon_type}: {beat.errors[0].message.strip()[:200]}")
        else:
            fine.append(f"{daemon_type} {age:.0f}s")
    problems = []
    if missing:
        problems.append(f"no heartbeat from {', '.join(missing)}: the Dagster daemon is not running; start "
                        "the platform with `erp dev`")
    if stale:
        problems.append(f"last heartbeat of {', '.join(stale)} {oldest:.0f} s ago (fresh means within "
                        f"{tolerance:.0f} s): the daemon stopped or hangs; see `erp status` and its log")
    problems += errors
    if problems:
        raise RuntimeError("; ".join(problems))
    return "heartbeats: " + ", ".join(fine)


def check_health(platform: Platform, *, instance: DagsterInstance | None = None,
                 settings: ObservabilitySettings | None = None) -> HealthReport:
    """Check every component; never raises (failures are reported in the checks)."""
    settings = settings or ObservabilitySettings()
    checks = [
        _timed("database", lambda: _database(platform)),
        _timed("object_store", lambda: _object_store(platform)),
        _timed("credential_store", lambda: _credential_store(platform)),
    ]
    tolerance = settings.daemon_heartbeat_tolerance_seconds
    if instance is not None:
        checks.append(_timed("dagster_daemon", lambda: _daemon(instance, tolerance)))
    else:
        def opened() -> str:
            from erp_platform.queue import open_instance

            with open_instance(platform) as own:
                return _daemon(own, tolerance)

        checks.append(_timed("dagster_daemon", opened))
    return HealthReport(ok=all(c.ok for c in checks), at=datetime.now(UTC), checks=checks)
