"""Writing to the append-only audit log. Callers pass secret-free details only."""

from __future__ import annotations

import getpass
import os
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from erp_platform.registry._models import AuditEntry


def current_actor() -> str:
    """Who is acting: ``ERP_ACTOR`` when set (services set it), else the OS user of this process."""
    actor = os.environ.get("ERP_ACTOR")
    if actor:
        return actor[:100]
    try:
        return f"user:{getpass.getuser()}"[:100]
    except (KeyError, OSError):
        return "user:unknown"


def record_audit(
    conn: Connection | Session,
    *,
    action: str,
    target_type: str,
    target_id: str | None = None,
    tenant_slug: str | None = None,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's transaction (so it commits or rolls back with the change)."""
    stmt = insert(AuditEntry).values(
        actor=actor or current_actor(),
        action=action,
        tenant_slug=tenant_slug,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
    )
    conn.execute(stmt)
