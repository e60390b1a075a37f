"""Tenants: tiers and quotas, onboarding (schema + role per tenant), and tenant-scoped connections."""

from erp_platform.tenancy._connection import tenant_transaction
from erp_platform.tenancy._models import TenantInfo
from erp_platform.tenancy._service import PurgeHook, TenantService
from erp_platform.tenancy._tiers import TIER_POLICIES, Quotas, Tier, TierPolicy, effective_quotas

__all__ = [
    "TIER_POLICIES",
    "PurgeHook",
    "Quotas",
    "TenantInfo",
    "TenantService",
    "Tier",
    "TierPolicy",
    "effective_quotas",
    "tenant_transaction",
]
