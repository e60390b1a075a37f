"""Concurrency pools: at most N steps at once against one ERP system, across every run of a tenant.

Extract assets of a workflow declare ``pool=pool_name(tenant, sdk)`` (``erp_<tenant>__<sdk>``); a pool
without a limit of its own gets the instance default (``concurrency.pools.default_limit``).
Limits are stored by Dagster (its concurrency API); every change is audited.
"""

from __future__ import annotations

import re

from dagster import DagsterInstance
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine

from erp_platform._errors import InvalidInputError
from erp_platform.db import validate_identifier, validate_slug
from erp_platform.registry import current_actor, record_audit

_POOL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}")
_ERP_POOL_RE = re.compile(r"erp_([a-z][a-z0-9_]{2,39}?)__([a-z_][a-z0-9_]{0,62})")
MAX_POOL_LIMIT = 10000


def pool_name(tenant: str, sdk: str) -> str:
    """The pool of one tenant's ERP system: ``erp_<tenant>__<sdk>``."""
    return f"erp_{validate_slug(tenant)}__{validate_identifier(sdk, path='sdk')}"


def pool_tenant(pool: str) -> str | None:
    """The tenant of an ``erp_<tenant>__<sdk>`` pool (None for other pools)."""
    match = _ERP_POOL_RE.fullmatch(pool)
    return match.group(1) if match else None


class PoolStatus(BaseModel):
    """A pool's limit and what holds or waits for its slots."""

    model_config = ConfigDict(frozen=True)

    pool: str
    limit: int | None
    from_default: bool
    claimed: int
    pending: int
    tenant: str | None


def set_pool_limit(instance: DagsterInstance, engine: Engine, pool: str, limit: int, *,
                   actor: str | None = None) -> PoolStatus:
    """Give ``pool`` ``limit`` slots (0 stops every step that uses it); audited."""
    if _POOL_RE.fullmatch(pool) is None:
        raise InvalidInputError(
            f"pool name {pool!r} is invalid: use letters, digits and _ . : - (at most 200 characters), "
            "e.g. erp_acme__business_central"
        )
    if not 0 <= limit <= MAX_POOL_LIMIT:
        raise InvalidInputError(f"pool limit must be between 0 and {MAX_POOL_LIMIT} (received {limit})")
    storage = instance.event_log_storage
    before = storage.get_concurrency_info(pool) if pool in storage.get_concurrency_keys() else None
    storage.set_concurrency_slots(pool, limit)
    with engine.begin() as conn:
        record_audit(conn, action="pool.set", target_type="pool", target_id=pool,
                     tenant_slug=pool_tenant(pool), actor=actor or current_actor(),
                     details={"limit": limit, "previous": before.slot_count if before is not None else None})
    return _status(instance, pool)


def list_pools(instance: DagsterInstance) -> list[PoolStatus]:
    """Every pool with a limit or with steps holding or waiting for slots, by name."""
    storage = instance.event_log_storage
    names = set(storage.get_concurrency_keys()) | {p.name for p in storage.get_pool_limits()}
    return [_status(instance, name) for name in sorted(names)]


def _status(instance: DagsterInstance, pool: str) -> PoolStatus:
    info = instance.event_log_storage.get_concurrency_info(pool)
    return PoolStatus(pool=pool, limit=info.limit, from_default=info.using_default_limit,
                      claimed=info.active_slot_count, pending=info.pending_step_count,
                      tenant=pool_tenant(pool))
