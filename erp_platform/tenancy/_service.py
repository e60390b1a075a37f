"""Tenant onboarding and lifecycle: one schema and one login role per tenant, created atomically."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from erp_platform._errors import ConflictError, InvalidInputError, NotFoundError
from erp_platform.db import quote_ident, validate_slug
from erp_platform.registry import Tenant, record_audit
from erp_platform.tenancy._egress import Resolver, check_private_target
from erp_platform.tenancy._logins import enable_login
from erp_platform.tenancy._models import TenantInfo
from erp_platform.tenancy._tiers import TIER_POLICIES, Quotas, Tier

PurgeHook = Callable[[str], None]
RESERVED_SLUGS = frozenset({"resume"})
_HOST_PORT_HELP = "use HOST:PORT, e.g. 127.0.0.1:8900 or erp.internal:443"


def _role_prefix(conn: Connection) -> str:
    """Roles are cluster-wide, schemas per database: prefix role names with a short hash of the database."""
    dbname = conn.execute(text("SELECT current_database()")).scalar_one()
    return "erp" + hashlib.sha256(str(dbname).encode()).hexdigest()[:6]


def tenant_role_name(conn: Connection, slug: str) -> str:
    return f"{_role_prefix(conn)}_t_{slug}"


class TenantService:
    """Creates, lists and changes tenants. Every change is audited in the same transaction."""

    def __init__(
        self, engine: Engine, *, purge_hooks: Sequence[PurgeHook] = (), resolver: Resolver | None = None
    ) -> None:
        self._engine = engine
        self._purge_hooks = tuple(purge_hooks)
        self._resolver = resolver

    # -- queries -------------------------------------------------------------------------------------
    def list(self, *, include_deleted: bool = False) -> list[TenantInfo]:
        stmt = select(Tenant).order_by(Tenant.slug)
        if not include_deleted:
            stmt = stmt.where(Tenant.status != "deleted")
        with self._engine.connect() as conn:
            return [TenantInfo.from_row(row) for row in _rows(conn, stmt)]

    def get(self, slug: str) -> TenantInfo:
        validate_slug(slug)
        with self._engine.connect() as conn:
            return TenantInfo.from_row(self._load(conn, slug))

    # -- onboarding ----------------------------------------------------------------------------------
    def create(self, slug: str, tier: str, *, name: str | None = None) -> TenantInfo:
        """Onboard a tenant: row, schema ``tenant_<slug>``, role owning only that schema. All or nothing."""
        validate_slug(slug)
        if slug in RESERVED_SLUGS:
            raise InvalidInputError(
                f"tenant slug {slug!r} is reserved (it is a CLI keyword); choose another slug"
            )
        policy = TIER_POLICIES[Tier.parse(tier)]
        display = (name or slug).strip()
        if not display or len(display) > 200:
            raise InvalidInputError(
                "tenant name must be 1 to 200 characters; pass --name with a shorter name"
            )
        schema = f"tenant_{slug}"
        try:
            with self._engine.begin() as conn:
                if conn.execute(select(Tenant.id).where(Tenant.slug == slug)).first() is not None:
                    raise ConflictError(
                        f"tenant {slug!r} already exists; choose another slug, or delete it first with "
                        f"`erp tenant delete {slug} --purge --yes`"
                    )
                role = tenant_role_name(conn, slug)
                _create_role_and_schema(
                    conn,
                    role=role,
                    schema=schema,
                    policy_st=policy.statement_timeout,
                    policy_wm=policy.work_mem,
                )
                row_id = conn.execute(
                    insert(Tenant)
                    .values(
                        slug=slug,
                        name=display,
                        tier=policy.tier.value,
                        status="active",
                        schema_name=schema,
                        role_name=role,
                        egress_private_allowlist=[],
                    )
                    .returning(Tenant.id)
                ).scalar_one()
                record_audit(
                    conn,
                    action="tenant.create",
                    target_type="tenant",
                    target_id=slug,
                    tenant_slug=slug,
                    details={"tier": policy.tier.value, "id": row_id},
                )
        except IntegrityError as exc:  # a concurrent create of the same slug won the race
            raise ConflictError(f"tenant {slug!r} already exists; choose another slug") from exc
        return self.get(slug)

    # -- changes -------------------------------------------------------------------------------------
    def set_tier(self, slug: str, tier: str) -> TenantInfo:
        policy = TIER_POLICIES[Tier.parse(tier)]
        with self._engine.begin() as conn:
            row = self._load(conn, slug, for_update=True)
            old = row.tier
            conn.execute(
                update(Tenant)
                .where(Tenant.id == row.id)
                .values(tier=policy.tier.value, updated_at=text("now()"))
            )
            _apply_role_limits(conn, row.role_name, policy.statement_timeout, policy.work_mem)
            record_audit(
                conn,
                action="tenant.set_tier",
                target_type="tenant",
                target_id=slug,
                tenant_slug=slug,
                details={"from": old, "to": policy.tier.value},
            )
        return self.get(slug)

    def set_quotas(self, slug: str, overrides: dict[str, int | None]) -> TenantInfo:
        """Override quotas (a value of None resets that quota to the tier default)."""
        unknown = sorted(set(overrides) - set(Quotas.names()))
        if unknown:
            raise InvalidInputError(f"unknown quota {unknown[0]!r}: use one of {', '.join(Quotas.names())}")
        for key, value in overrides.items():
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInputError(f"quota {key} must be a non-negative integer (received {value!r})")
        with self._engine.begin() as conn:
            row = self._load(conn, slug, for_update=True)
            conn.execute(
                update(Tenant).where(Tenant.id == row.id).values(**overrides, updated_at=text("now()"))
            )
            record_audit(
                conn,
                action="tenant.set_quotas",
                target_type="tenant",
                target_id=slug,
                tenant_slug=slug,
                details={"overrides": overrides},
            )
        return self.get(slug)

    def set_status(self, slug: str, status: str) -> TenantInfo:
        if status not in ("active", "suspended"):
            raise InvalidInputError(f"status must be active or suspended (received {status!r})")
        with self._engine.begin() as conn:
            row = self._load(conn, slug, for_update=True)
            conn.execute(
                update(Tenant).where(Tenant.id == row.id).values(status=status, updated_at=text("now()"))
            )
            action = "tenant.suspend" if status == "suspended" else "tenant.reactivate"
            record_audit(
                conn,
                action=action,
                target_type="tenant",
                target_id=slug,
                tenant_slug=slug,
                details={"from": row.status},
            )
        return self.get(slug)

    def allow_private_egress(self, slug: str, host_port: str, *, allow: bool = True) -> TenantInfo:
        """Explicitly let (or stop letting) this tenant's SDKs reach a private/loopback ``host:port``.

        Raises:
            InvalidInputError: not HOST:PORT, or (when allowing) the host is or resolves to a public or
                cloud metadata address: public ERPs need no exception.
        """
        entry = _parse_host_port(host_port)
        if allow:
            host, _, port = entry.rpartition(":")
            check_private_target(host, int(port), self._resolver)
        with self._engine.begin() as conn:
            row = self._load(conn, slug, for_update=True)
            current = list(row.egress_private_allowlist or [])
            new = sorted(set(current) | {entry}) if allow else [e for e in current if e != entry]
            conn.execute(
                update(Tenant)
                .where(Tenant.id == row.id)
                .values(egress_private_allowlist=new, updated_at=text("now()"))
            )
            record_audit(
                conn,
                action="tenant.egress_private_" + ("allow" if allow else "revoke"),
                target_type="tenant",
                target_id=slug,
                tenant_slug=slug,
                details={"host_port": entry},
            )
        return self.get(slug)

    def delete(self, slug: str, *, purge: bool = False) -> None:
        """Mark a tenant deleted; with ``purge`` drop its schema, role, credentials and objects for good.

        Purging first removes the tenant's secrets and objects (purge hooks), then drops the schema, the
        role and the registry rows in one transaction; a failure can be retried.
        """
        if purge:
            with self._engine.connect() as conn:
                self._load(conn, slug, include_deleted=True)
            for hook in self._purge_hooks:
                hook(slug)
        with self._engine.begin() as conn:
            row = self._load(conn, slug, for_update=True, include_deleted=True)
            if not purge:
                conn.execute(
                    update(Tenant)
                    .where(Tenant.id == row.id)
                    .values(status="deleted", updated_at=text("now()"))
                )
                record_audit(
                    conn,
                    action="tenant.delete",
                    target_type="tenant",
                    target_id=slug,
                    tenant_slug=slug,
                    details={"purge": False},
                )
                return
            conn.execute(text(f"DROP SCHEMA IF EXISTS {quote_ident(row.schema_name)} CASCADE"))
            conn.execute(text(f"DROP OWNED BY {quote_ident(row.role_name)} CASCADE"))
            conn.execute(text(f"DROP ROLE IF EXISTS {quote_ident(row.role_name)}"))
            conn.execute(delete(Tenant).where(Tenant.id == row.id))
            record_audit(
                conn,
                action="tenant.purge",
                target_type="tenant",
                target_id=slug,
                tenant_slug=slug,
                details={"schema": row.schema_name},
            )

    # -- internals -----------------------------------------------------------------------------------
    def _load(
        self, conn: Connection, slug: str, *, for_update: bool = False, include_deleted: bool = False
    ) -> Tenant:
        validate_slug(slug)
        stmt = select(Tenant).where(Tenant.slug == slug)
        if for_update:
            stmt = stmt.with_for_update()
        rows = _rows(conn, stmt)
        if not rows or (rows[0].status == "deleted" and not include_deleted):
            raise NotFoundError(f"tenant {slug!r} does not exist; list tenants with `erp tenant list`")
        return rows[0]


def _rows(conn: Connection, stmt: Any) -> list[Tenant]:
    from sqlalchemy.orm import Session

    with Session(bind=conn) as session:
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def _create_role_and_schema(
    conn: Connection, *, role: str, schema: str, policy_st: str, policy_wm: str
) -> None:
    r, s = quote_ident(role), quote_ident(schema)
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists:
        raise ConflictError(
            f"database role {role!r} already exists without a tenant row (left over from a failed purge?); "
            f"drop it with DROP ROLE {role}; then retry"
        )
    conn.execute(text(f"CREATE ROLE {r} NOLOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION"))
    enable_login(conn, role)  # tenant data work logs in as this role (see _logins)
    _apply_role_limits(conn, role, policy_st, policy_wm)
    is_super = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    if not is_super:
        conn.execute(text(f"GRANT {r} TO CURRENT_USER"))
    conn.execute(text(f"CREATE SCHEMA {s} AUTHORIZATION {r}"))
    conn.execute(text(f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC"))


def _apply_role_limits(conn: Connection, role: str, statement_timeout: str, work_mem: str) -> None:
    r = quote_ident(role)
    # Values come from TIER_POLICIES (code constants), never from users; quoted as literals regardless.
    conn.execute(text(f"ALTER ROLE {r} SET statement_timeout = '{_literal(statement_timeout)}'"))
    conn.execute(text(f"ALTER ROLE {r} SET work_mem = '{_literal(work_mem)}'"))


def _literal(value: str) -> str:
    if not value.replace(" ", "").isalnum():
        raise InvalidInputError(f"unsafe setting value {value!r}")
    return value


def _parse_host_port(value: str) -> str:
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(f"{value!r} is not HOST:PORT; {_HOST_PORT_HELP}")
    host = host.strip("[]").lower()
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise InvalidInputError(f"{value!r} has an invalid host; {_HOST_PORT_HELP}")
    return f"{host}:{int(port)}"
