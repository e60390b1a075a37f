"""Service tiers and their default quotas; tenants may override any quota."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from erp_platform._errors import InvalidInputError


class Tier(StrEnum):
    FREE = "free"
    STANDARD = "standard"
    ENTERPRISE = "enterprise"

    @classmethod
    def parse(cls, value: object) -> Tier:
        """Return the tier named ``value`` or raise InvalidInputError listing the valid tiers."""
        for tier in cls:
            if value == tier.value:
                return tier
        valid = ", ".join(t.value for t in cls)
        raise InvalidInputError(f"unknown tier {value!r}: use one of {valid}")


@dataclass(frozen=True)
class Quotas:
    """Resource quotas of one tenant (the tier's defaults with the tenant's overrides applied)."""

    max_concurrent_workflows: int
    max_jobs_per_hour: int
    max_concurrent_jobs: int
    max_storage_gb: int
    max_api_calls_per_minute: int
    max_memory_mb: int

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def with_overrides(self, overrides: dict[str, int | None]) -> Quotas:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.names()}


@dataclass(frozen=True)
class TierPolicy:
    """What a tier gets: default quotas and the database limits set on each tenant role."""

    tier: Tier
    quotas: Quotas
    statement_timeout: str
    work_mem: str


TIER_POLICIES: dict[Tier, TierPolicy] = {
    Tier.FREE: TierPolicy(
        Tier.FREE,
        Quotas(
            max_concurrent_workflows=5,
            max_jobs_per_hour=100,
            max_concurrent_jobs=2,
            max_storage_gb=1,
            max_api_calls_per_minute=600,
            max_memory_mb=256,
        ),
        statement_timeout="60s",
        work_mem="16MB",
    ),
    Tier.STANDARD: TierPolicy(
        Tier.STANDARD,
        Quotas(
            max_concurrent_workflows=50,
            max_jobs_per_hour=1000,
            max_concurrent_jobs=10,
            max_storage_gb=50,
            max_api_calls_per_minute=3000,
            max_memory_mb=1024,
        ),
        statement_timeout="300s",
        work_mem="64MB",
    ),
    Tier.ENTERPRISE: TierPolicy(
        Tier.ENTERPRISE,
        Quotas(
            max_concurrent_workflows=500,
            max_jobs_per_hour=10000,
            max_concurrent_jobs=50,
            max_storage_gb=1000,
            max_api_calls_per_minute=30000,
            max_memory_mb=4096,
        ),
        statement_timeout="1800s",
        work_mem="256MB",
    ),
}


def effective_quotas(tier: str, overrides: dict[str, Any]) -> Quotas:
    """The quotas of a tenant on ``tier`` with its per-tenant ``overrides`` (None = tier default)."""
    base = TIER_POLICIES[Tier.parse(tier)].quotas
    return base.with_overrides({k: overrides.get(k) for k in Quotas.names()})
