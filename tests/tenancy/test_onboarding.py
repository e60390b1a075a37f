"""Onboarding creates exactly one schema and one NOLOGIN role per tenant, atomically, with tier limits."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from erp_platform._errors import ConflictError, InvalidInputError, NotFoundError
from erp_platform.registry import AuditEntry
from erp_platform.tenancy import TIER_POLICIES, TenantService, Tier


def _role_settings(engine: Engine, role: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE r.rolname = :r"
            ),
            {"r": role},
        ).scalars()
        return dict(item.split("=", 1) for item in rows)


def test_create_makes_schema_and_a_plain_login_role(engine: Engine, tenants: TenantService) -> None:
    info = tenants.create("onb_basic", "standard", name="Basic Co")
    assert info.schema_name == "tenant_onb_basic"
    assert info.quotas["max_concurrent_workflows"] == 50
    assert info.quotas["max_jobs_per_hour"] == 1000
    with engine.connect() as conn:
        owner = conn.execute(
            text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = :s"),
            {"s": "tenant_onb_basic"},
        ).scalar_one()
        canlogin, superuser = conn.execute(
            text("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = :r"), {"r": info.role_name}
        ).one()
    assert owner == info.role_name
    assert (canlogin, superuser) == (True, False)  # tenant data work logs in as this role
    settings = _role_settings(engine, info.role_name)
    assert settings["statement_timeout"] == TIER_POLICIES[Tier.STANDARD].statement_timeout
    assert settings["work_mem"] == TIER_POLICIES[Tier.STANDARD].work_mem


def test_tier_default_quotas(tenants: TenantService) -> None:
    free = tenants.create("onb_free", "free")
    ent = tenants.create("onb_ent", "enterprise")
    assert (free.quotas["max_concurrent_workflows"], ent.quotas["max_concurrent_workflows"]) == (5, 500)
    assert (free.quotas["max_jobs_per_hour"], ent.quotas["max_jobs_per_hour"]) == (100, 10000)


def test_set_tier_changes_quotas_and_role_limits(engine: Engine, tenants: TenantService) -> None:
    tenants.create("onb_upgrade", "free")
    info = tenants.set_tier("onb_upgrade", "enterprise")
    assert info.tier == "enterprise"
    assert info.quotas["max_concurrent_workflows"] == 500
    assert _role_settings(engine, info.role_name)["work_mem"] == TIER_POLICIES[Tier.ENTERPRISE].work_mem


def test_quota_override_survives_tier_change(tenants: TenantService) -> None:
    tenants.create("onb_override", "free")
    info = tenants.set_quotas("onb_override", {"max_jobs_per_hour": 7})
    assert info.quotas["max_jobs_per_hour"] == 7
    assert info.quota_overrides == {"max_jobs_per_hour": 7}
    info = tenants.set_tier("onb_override", "standard")
    assert info.quotas["max_jobs_per_hour"] == 7
    assert info.quotas["max_concurrent_workflows"] == 50
    info = tenants.set_quotas("onb_override", {"max_jobs_per_hour": None})
    assert info.quotas["max_jobs_per_hour"] == 1000


def test_duplicate_slug_refused_and_first_untouched(tenants: TenantService) -> None:
    tenants.create("onb_dup", "free", name="First")
    with pytest.raises(ConflictError, match="tenant 'onb_dup' already exists"):
        tenants.create("onb_dup", "enterprise", name="Second")
    assert tenants.get("onb_dup").name == "First"


def test_onboarding_is_atomic(engine: Engine, tenants: TenantService) -> None:
    """A failure half-way (the schema already exists) leaves no role, no row, no audit entry."""
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA tenant_onb_atomic"))
    try:
        with pytest.raises(Exception, match="already exists"):
            tenants.create("onb_atomic", "free")
        with engine.connect() as conn:
            roles = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname LIKE '%_t_onb_atomic'"))
            assert roles.scalar_one() == 0
            audit = conn.execute(select(AuditEntry.id).where(AuditEntry.tenant_slug == "onb_atomic")).all()
            assert audit == []
        with pytest.raises(NotFoundError):
            tenants.get("onb_atomic")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA tenant_onb_atomic"))
    assert tenants.create("onb_atomic", "free").slug == "onb_atomic"


def test_suspend_reactivate_delete_purge(engine: Engine, tenants: TenantService) -> None:
    info = tenants.create("onb_life", "free")
    assert tenants.set_status("onb_life", "suspended").status == "suspended"
    assert tenants.set_status("onb_life", "active").status == "active"
    tenants.delete("onb_life")
    with pytest.raises(NotFoundError, match="tenant 'onb_life' does not exist"):
        tenants.get("onb_life")
    assert "onb_life" not in [t.slug for t in tenants.list()]
    tenants.delete("onb_life", purge=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regnamespace('tenant_onb_life')")).scalar() is None
        assert (
            conn.execute(
                text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": info.role_name}
            ).scalar_one()
            == 0
        )
        actions = (
            conn.execute(
                select(AuditEntry.action).where(AuditEntry.tenant_slug == "onb_life").order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    assert actions == [
        "tenant.create",
        "tenant.suspend",
        "tenant.reactivate",
        "tenant.delete",
        "tenant.purge",
    ]
    assert tenants.create("onb_life", "free").slug == "onb_life"


def test_private_egress_allowlist_is_explicit_and_audited(engine: Engine, tenants: TenantService) -> None:
    tenants.create("onb_egress", "free")
    info = tenants.allow_private_egress("onb_egress", "127.0.0.1:8900")
    assert info.egress_private_allowlist == ["127.0.0.1:8900"]
    info = tenants.allow_private_egress("onb_egress", "127.0.0.1:8900", allow=False)
    assert info.egress_private_allowlist == []
    with pytest.raises(InvalidInputError, match="is not HOST:PORT"):
        tenants.allow_private_egress("onb_egress", "127.0.0.1")
    with engine.connect() as conn:
        actions = (
            conn.execute(
                select(AuditEntry.action)
                .where(AuditEntry.tenant_slug == "onb_egress")
                .order_by(AuditEntry.id)
            )
            .scalars()
            .all()
        )
    assert actions[-2:] == ["tenant.egress_private_allow", "tenant.egress_private_revoke"]
