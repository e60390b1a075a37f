"""Tenant scoping for registry queries: every query starts from the tenant's slug and its row id."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select, text

from erp_platform._errors import NotFoundError
from erp_platform.db import validate_slug
from erp_platform.registry import Tenant

# Namespace of the advisory locks that serialise changes to one artifact (tenant id, name) pair.
ARTIFACT_LOCK_NAMESPACE = 0x45525031


def tenant_id_for(conn: Connection, slug: str) -> int:
    """The row id of an existing (not deleted) tenant; NotFoundError otherwise."""
    validate_slug(slug)
    row = conn.execute(select(Tenant.id, Tenant.status).where(Tenant.slug == slug)).first()
    if row is None or row.status == "deleted":
        raise NotFoundError(f"tenant {slug!r} does not exist; list tenants with `erp tenant list`")
    return int(row.id)


def lock_artifact(conn: Connection, kind: str, tenant_id: int, name: str) -> None:
    """Serialise changes to one workflow or mapping of one tenant until the transaction ends."""

    conn.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
        {"ns": ARTIFACT_LOCK_NAMESPACE, "key": f"{kind}:{tenant_id}:{name}"},
    )


def as_utc(value: datetime | None) -> datetime | None:
    """A timezone-aware datetime; naive values are taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
