"""Run-queue settings from the environment (prefix ``ERP_QUEUE_``), validated once.

Per-tier values are JSON objects; tiers left out keep their defaults, e.g.
``ERP_QUEUE_TIER_RUN_LIMITS='{"free": 8}'`` raises only the free tier's cap.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from erp_platform._errors import ConfigurationError
from erp_platform.registry import TIERS

DEFAULT_TIER_RUN_LIMITS: dict[str, int] = {"free": 5, "standard": 20, "enterprise": 100}
DEFAULT_MAX_QUEUE_DEPTH: dict[str, int] = {"free": 400, "standard": 2000, "enterprise": 10000}


def _per_tier(value: Any, defaults: dict[str, int]) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object of tier -> integer, e.g. {"free": 5}')
    unknown = sorted(set(value) - set(TIERS))
    if unknown:
        raise ValueError(f"unknown tier {unknown[0]!r}: use {', '.join(TIERS)}")
    merged = dict(defaults)
    for tier, limit in value.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"{tier}: must be a non-negative integer (received {limit!r})")
        merged[tier] = limit
    return merged


class QueueSettings(BaseSettings):
    """Limits of the run queue. Construct with :func:`load_queue_settings` to get clear errors."""

    model_config = SettingsConfigDict(env_prefix="ERP_QUEUE_", extra="ignore", frozen=True)

    tier_run_limits: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_TIER_RUN_LIMITS),
        description="runs in progress at once per tier (Dagster tag_concurrency_limits on erp/tier)",
    )
    max_queue_depth: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_QUEUE_DEPTH),
        description="queued runs per tier beyond which new runs are refused (backpressure)",
    )
    max_concurrent_runs: int = Field(125, ge=1, description="runs in progress at once on the instance")
    pool_default_limit: int = Field(4, ge=0, description="default slots of a concurrency pool")
    dequeue_interval_seconds: int = Field(1, ge=1, description="how often the daemon dequeues runs")
    enforce_interval_seconds: float = Field(
        15.0, gt=0, description="how often `erp dev` enforces force_cancel_after and refreshes limits"
    )

    @field_validator("tier_run_limits", mode="before")
    @classmethod
    def _check_tier_run_limits(cls, value: Any) -> dict[str, int]:
        return _per_tier(value, DEFAULT_TIER_RUN_LIMITS)

    @field_validator("max_queue_depth", mode="before")
    @classmethod
    def _check_max_queue_depth(cls, value: Any) -> dict[str, int]:
        return _per_tier(value, DEFAULT_MAX_QUEUE_DEPTH)


def load_queue_settings(**overrides: object) -> QueueSettings:
    """Read the queue settings from the environment (and overrides).

    Raises:
        ConfigurationError: a setting is invalid; the message names its environment variable.
    """
    try:
        return QueueSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"ERP_QUEUE_{field.upper()}: {msg}")
        raise ConfigurationError("invalid queue setting: " + "; ".join(lines)) from None
