"""Operator kill switches: ``system_control_flags`` with scopes global / tenant / workflow / sdk.

Scope ids: tenant ``<slug>``; workflow ``<slug>/<workflow_id>``; sdk ``<slug>/<sdk_name>`` (every
version) or ``<slug>/<sdk_name>@<version>``. Flag types: ``pause`` (hold: steps wait, new runs are
refused), ``block`` (refuse and fail), ``rate_limit`` (lower the tenant's request rate: ``value`` holds
``{"max_api_calls_per_minute": N}``), ``ai_off`` (global or tenant: the AI assistant sends nothing to its
provider; its offline functions keep working; runs are not affected).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from erp_platform._errors import ConflictError, InvalidInputError, NotFoundError
from erp_platform.db import validate_slug
from erp_platform.registry import FLAG_SCOPES, FLAG_TYPES, SystemControlFlag, current_actor, record_audit

_ID = r"[a-z_][a-z0-9_]{0,62}"
_SCOPE_ID_RULES = {
    "tenant": (re.compile(r"[a-z][a-z0-9_]{2,39}"), "<tenant slug>"),
    "workflow": (re.compile(rf"[a-z][a-z0-9_]{{2,39}}/{_ID}"), "<tenant slug>/<workflow id>"),
    "sdk": (
        re.compile(rf"[a-z][a-z0-9_]{{2,39}}/{_ID}(@[1-9][0-9]*)?"),
        "<tenant slug>/<sdk name>[@<version>]",
    ),
}


class ControlFlag(BaseModel):
    """One control flag as stored."""

    model_config = ConfigDict(frozen=True)

    id: int
    scope: str
    scope_id: str | None
    flag_type: str
    enabled: bool
    reason: str
    value: dict[str, Any]
    set_by: str
    set_at: datetime
    cleared_by: str | None = None
    cleared_at: datetime | None = None

    @property
    def label(self) -> str:
        where = "global" if self.scope == "global" else f"{self.scope} {self.scope_id}"
        return f"{self.flag_type} flag #{self.id} on {where} (set by {self.set_by}: {self.reason})"


def validate_scope(scope: str, scope_id: str | None) -> str | None:
    """Check a (scope, scope id) pair; return the normalised scope id."""
    if scope not in FLAG_SCOPES:
        raise InvalidInputError(f"unknown flag scope {scope!r}: use one of {', '.join(FLAG_SCOPES)}")
    if scope == "global":
        if scope_id:
            raise InvalidInputError("a global flag takes no --id; remove it")
        return None
    rule, shape = _SCOPE_ID_RULES[scope]
    if not scope_id or rule.fullmatch(scope_id) is None:
        raise InvalidInputError(f"scope {scope} needs --id of the form {shape} (received {scope_id!r})")
    validate_slug(scope_id.split("/", 1)[0])
    return scope_id


def scope_ids_for(
    tenant: str, workflow: str | None = None, sdks: Iterable[tuple[str, int | None]] = ()
) -> list[tuple[str, str | None]]:
    """Every (scope, scope id) that applies to work of ``tenant`` on ``workflow`` using ``sdks``."""
    pairs: list[tuple[str, str | None]] = [("global", None), ("tenant", tenant)]
    if workflow:
        pairs.append(("workflow", f"{tenant}/{workflow}"))
    for name, version in sdks:
        pairs.append(("sdk", f"{tenant}/{name}"))
        if version is not None:
            pairs.append(("sdk", f"{tenant}/{name}@{version}"))
    return pairs


class ControlFlags:
    """Set, clear and query control flags; every change is audited."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def set(
        self,
        *,
        scope: str,
        scope_id: str | None,
        flag_type: str,
        reason: str,
        value: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> ControlFlag:
        scope_id = validate_scope(scope, scope_id)
        if flag_type not in FLAG_TYPES:
            raise InvalidInputError(f"unknown flag type {flag_type!r}: use one of {', '.join(FLAG_TYPES)}")
        if flag_type == "ai_off" and scope not in ("global", "tenant"):
            raise InvalidInputError(
                "an ai_off flag turns the AI assistant off globally or for one tenant: use --scope global or "
                "--scope tenant --id <tenant slug>"
            )
        if not reason.strip():
            raise InvalidInputError(
                "a flag needs --reason: say why, so other operators know when to clear it"
            )
        value = dict(value or {})
        if flag_type == "rate_limit":
            limit = value.get("max_api_calls_per_minute")
            if not isinstance(limit, int) or limit < 1:
                raise InvalidInputError(
                    "a rate_limit flag needs a positive max_api_calls_per_minute (e.g. --limit 60)"
                )
        actor = actor or current_actor()
        try:
            with self._engine.begin() as conn:
                new_id = conn.execute(
                    insert(SystemControlFlag)
                    .values(
                        scope=scope,
                        scope_id=scope_id,
                        flag_type=flag_type,
                        enabled=True,
                        reason=reason.strip(),
                        value=value,
                        set_by=actor,
                    )
                    .returning(SystemControlFlag.id)
                ).scalar_one()
                tenant = scope_id.split("/", 1)[0] if scope_id else None
                record_audit(
                    conn,
                    action="flag.set",
                    target_type="control_flag",
                    target_id=str(new_id),
                    tenant_slug=tenant,
                    actor=actor,
                    details={
                        "scope": scope,
                        "scope_id": scope_id,
                        "flag_type": flag_type,
                        "reason": reason.strip(),
                        "value": value,
                    },
                )
        except IntegrityError as exc:
            where = "global" if scope == "global" else f"{scope} {scope_id}"
            raise ConflictError(
                f"an active {flag_type} flag already exists on {where}; clear it first (erp ops flag list)"
            ) from exc
        return self.get(new_id)

    def get(self, flag_id: int) -> ControlFlag:
        table = SystemControlFlag.__table__
        with self._engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.id == flag_id)).first()
        if row is None:
            raise NotFoundError(
                f"control flag #{flag_id} does not exist; list flags with `erp ops flag list`"
            )
        return _from_mapping(row._mapping)

    def clear(self, flag_id: int, *, actor: str | None = None) -> ControlFlag:
        actor = actor or current_actor()
        with self._engine.begin() as conn:
            flag = conn.execute(
                select(SystemControlFlag.__table__).where(SystemControlFlag.id == flag_id).with_for_update()
            ).first()
            if flag is None:
                raise NotFoundError(
                    f"control flag #{flag_id} does not exist; list flags with `erp ops flag list`"
                )
            if not flag.enabled:
                raise ConflictError(f"control flag #{flag_id} is already cleared")
            conn.execute(
                update(SystemControlFlag)
                .where(SystemControlFlag.id == flag_id)
                .values(enabled=False, cleared_by=actor, cleared_at=datetime.now().astimezone())
            )
            tenant = flag.scope_id.split("/", 1)[0] if flag.scope_id else None
            record_audit(
                conn,
                action="flag.clear",
                target_type="control_flag",
                target_id=str(flag_id),
                tenant_slug=tenant,
                actor=actor,
                details={"scope": flag.scope, "scope_id": flag.scope_id, "flag_type": flag.flag_type},
            )
        return self.get(flag_id)

    def list(self, *, active_only: bool = True, tenant: str | None = None) -> builtins.list[ControlFlag]:
        table = SystemControlFlag.__table__
        stmt = select(table).order_by(table.c.id)
        if active_only:
            stmt = stmt.where(table.c.enabled)
        if tenant:
            stmt = stmt.where(
                or_(
                    table.c.scope == "global",
                    table.c.scope_id == tenant,
                    table.c.scope_id.startswith(f"{tenant}/"),
                )
            )
        with self._engine.connect() as conn:
            return [_from_mapping(r._mapping) for r in conn.execute(stmt)]

    def applicable(self, pairs: Sequence[tuple[str, str | None]]) -> builtins.list[ControlFlag]:
        """Active flags on any of the (scope, scope id) pairs, most general first."""
        table = SystemControlFlag.__table__
        conds = [
            (table.c.scope == scope)
            & (table.c.scope_id.is_(None) if sid is None else table.c.scope_id == sid)
            for scope, sid in pairs
        ]
        order = {"global": 0, "tenant": 1, "workflow": 2, "sdk": 3}
        with self._engine.connect() as conn:
            rows = [
                _from_mapping(r._mapping)
                for r in conn.execute(select(table).where(table.c.enabled, or_(*conds)))
            ]
        return sorted(rows, key=lambda f: (order[f.scope], f.id))


def _from_mapping(m: Any) -> ControlFlag:
    return ControlFlag(
        id=m["id"],
        scope=m["scope"],
        scope_id=m["scope_id"],
        flag_type=m["flag_type"],
        enabled=m["enabled"],
        reason=m["reason"],
        value=dict(m["value"] or {}),
        set_by=m["set_by"],
        set_at=m["set_at"],
        cleared_by=m["cleared_by"],
        cleared_at=m["cleared_at"],
    )
