"""The Dagster instance of the platform: ``DAGSTER_HOME`` under ``ERP_HOME`` and its ``dagster.yaml``.

``dagster.yaml`` is rendered from code (:func:`render_dagster_yaml`) so the tier limits, the run
coordinator and the run launcher always match the platform's policies. The repository's top-level
``dagster.yaml`` is the rendering with default settings (a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml

from erp_platform._files import write_text_if_changed
from erp_platform.config import Settings

PG_URL_ENV = "ERP_DAGSTER_PG_URL"
FORKSERVER_ENV = "ERP_FORKSERVER_SOCKET"
ProcessMode = Literal["forkserver", "stock"]


@dataclass(frozen=True)
class QueuePolicy:
    """Run-queue limits per tier (see ARCHITECTURE: fairness and operations in the run queue)."""

    tier_run_limits: dict[str, int] = field(
        default_factory=lambda: {"free": 5, "standard": 20, "enterprise": 100}
    )
    tenant_run_limits: dict[str, int] = field(
        default_factory=lambda: {"free": 2, "standard": 10, "enterprise": 50}
    )
    extra_tenant_caps: tuple[int, ...] = ()
    max_concurrent_runs: int = 125
    pool_default_limit: int = 4
    dequeue_interval_seconds: int = 1


def dagster_pg_url(database_url: str) -> str:
    """The platform database URL in the form dagster-postgres needs (SQLAlchemy + psycopg2 driver)."""
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql+psycopg2", parts.netloc, parts.path, parts.query, parts.fragment))


def tenant_tag_key(tier: str) -> str:
    """Run tag whose unique values (tenant slugs) are capped per tier by ``applyLimitPerUniqueValue``."""
    return f"erp/tenant_{tier}"


def tenant_cap_tag_key(cap: int) -> str:
    """Run tag for tenants whose ``max_concurrent_jobs`` override differs from their tier's."""
    return f"erp/tenant_cap_{cap}"


def run_launcher_config(process_mode: ProcessMode) -> dict[str, Any]:
    """``run_launcher`` of ``dagster.yaml``: ours (fork server) or Dagster's stock ``DefaultRunLauncher``.

    The stock launcher asks the run's code server (``dagster code-server start``) to start the run, so runs
    execute on whichever host serves the tenant's code location.
    """
    if process_mode == "stock":
        return {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"}
    return {
        "module": "erp_platform.orchestration",
        "class": "ErpRunLauncher",
        "config": {"socket": {"env": FORKSERVER_ENV}},
    }


def tag_concurrency_limits(policy: QueuePolicy) -> list[dict[str, Any]]:
    """Dagster ``tag_concurrency_limits``: one per tier on ``erp/tier``, per-tenant caps per unique value."""
    limits: list[dict[str, Any]] = [
        {"key": "erp/tier", "value": tier, "limit": limit} for tier, limit in policy.tier_run_limits.items()
    ]
    limits += [
        {"key": tenant_tag_key(tier), "value": {"applyLimitPerUniqueValue": True}, "limit": limit}
        for tier, limit in policy.tenant_run_limits.items()
    ]
    limits += [
        {"key": tenant_cap_tag_key(cap), "value": {"applyLimitPerUniqueValue": True}, "limit": cap}
        for cap in sorted(set(policy.extra_tenant_caps))
    ]
    return limits


def render_dagster_yaml(
    policy: QueuePolicy | None = None, *, process_mode: ProcessMode = "forkserver"
) -> dict[str, Any]:
    """The instance configuration: Postgres storage, our coordinator, the launcher of ``process_mode``,
    tier/tenant caps."""
    policy = policy or QueuePolicy()
    limits = tag_concurrency_limits(policy)
    return {
        "storage": {"postgres": {"postgres_url": {"env": PG_URL_ENV}}},
        "run_coordinator": {
            "module": "erp_platform.orchestration",
            "class": "ErpRunCoordinator",
            "config": {
                "dequeue_use_threads": True,
                "dequeue_num_workers": 4,
                "dequeue_interval_seconds": policy.dequeue_interval_seconds,
            },
        },
        "run_launcher": run_launcher_config(process_mode),
        "concurrency": {
            "runs": {"max_concurrent_runs": policy.max_concurrent_runs, "tag_concurrency_limits": limits},
            "pools": {"default_limit": policy.pool_default_limit},
        },
        "run_monitoring": {
            "enabled": True,
            "start_timeout_seconds": 120,
            "cancel_timeout_seconds": 60,
            "poll_interval_seconds": 2,
            "max_resume_run_attempts": 0,
            "free_slots_after_run_end_seconds": 1,
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def dagster_yaml_text(policy: QueuePolicy | None = None, *, process_mode: ProcessMode = "forkserver") -> str:
    header = (
        "# Dagster instance configuration of the ERP platform, rendered by\n"
        "# erp_platform.orchestration.render_dagster_yaml (`erp dev` writes it into DAGSTER_HOME).\n"
        "# ERP_DAGSTER_PG_URL and ERP_FORKSERVER_SOCKET are set by `erp dev` / `erp dagster-env`.\n"
    )
    if process_mode == "stock":
        header += "# Process mode: stock (ERP_PROCESS_MODE=stock): runs start in the tenants' code servers.\n"
    return header + yaml.safe_dump(render_dagster_yaml(policy, process_mode=process_mode), sort_keys=False)


def dagster_home(settings: Settings) -> Path:
    return settings.resolved_home / "dagster"


def forkserver_socket(settings: Settings) -> Path:
    return settings.resolved_home / "run" / "forkserver.sock"


def prepare_dagster_home(
    settings: Settings, database_url: str, policy: QueuePolicy | None = None
) -> dict[str, str]:
    """Write ``dagster.yaml`` into DAGSTER_HOME and return the environment Dagster processes need."""
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    (settings.resolved_home / "run").mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    text = dagster_yaml_text(policy, process_mode=settings.process_mode)
    write_text_if_changed(target, text)
    return {
        "DAGSTER_HOME": str(home),
        PG_URL_ENV: dagster_pg_url(database_url),
        FORKSERVER_ENV: str(forkserver_socket(settings)),
        "ERP_HOME": str(settings.resolved_home),
        "ERP_DATABASE_URL": database_url,
    }
