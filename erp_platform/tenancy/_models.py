"""Tenant records as the rest of the platform sees them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from erp_platform.registry import Tenant
from erp_platform.tenancy._tiers import TIER_POLICIES, Quotas, Tier, effective_quotas


class TenantInfo(BaseModel):
    """A tenant with its effective quotas (tier defaults plus overrides)."""

    model_config = ConfigDict(frozen=True)

    id: int
    slug: str
    name: str
    tier: str
    status: str
    schema_name: str
    role_name: str
    quotas: dict[str, int]
    quota_overrides: dict[str, int]
    egress_private_allowlist: list[str]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Tenant) -> TenantInfo:
        overrides = {n: getattr(row, n) for n in Quotas.names() if getattr(row, n) is not None}
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            tier=row.tier,
            status=row.status,
            schema_name=row.schema_name,
            role_name=row.role_name,
            quotas=effective_quotas(row.tier, overrides).as_dict(),
            quota_overrides=overrides,
            egress_private_allowlist=list(row.egress_private_allowlist or []),
            created_at=row.created_at,
        )

    @property
    def effective_quotas(self) -> Quotas:
        return Quotas(**self.quotas)

    @property
    def statement_timeout(self) -> str:
        return TIER_POLICIES[Tier.parse(self.tier)].statement_timeout

    @property
    def work_mem(self) -> str:
        return TIER_POLICIES[Tier.parse(self.tier)].work_mem
