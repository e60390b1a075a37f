"""The credential store contract: metadata rows and audit here, the secret in a backend (subclasses)."""

from __future__ import annotations

import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from erp_platform._errors import CredentialError, ErpPlatformError, NotFoundError, TenantIsolationError
from erp_platform.credentials._models import CredentialInfo, StoreName
from erp_platform.credentials._validation import (
    credential_path,
    validate_credential_name,
    validate_secret,
)
from erp_platform.db import validate_slug
from erp_platform.registry import Tenant, TenantCredential, record_audit

logger = logging.getLogger("erp_platform.credentials")

_RETURNED = (
    TenantCredential.name,
    TenantCredential.store,
    TenantCredential.store_path,
    TenantCredential.version,
    TenantCredential.created_at,
    TenantCredential.rotated_at,
)


@dataclass(frozen=True)
class CredentialRef:
    """One credential of one tenant, with its store path built from the validated slug and name."""

    tenant: str
    name: str
    path: str

    @classmethod
    def of(cls, tenant: str, name: str) -> CredentialRef:
        return cls(tenant=validate_slug(tenant), name=validate_credential_name(name),
                   path=credential_path(tenant, name))

    def describe(self) -> str:
        return f"credential {self.name!r} of tenant {self.tenant!r}"


class CredentialStore(ABC):
    """Per-tenant secrets: metadata in ``erp_control.tenant_credentials``, the value in a backend.

    Every call takes the tenant slug; paths are built only from the validated slug and name, so no
    call for tenant A can address tenant B's secret. Every access is audited (``credential.set``,
    ``.get``, ``.list``, ``.rotate``, ``.delete``, ``.purge``) in the transaction of the change; a failed
    access is audited too, with ``outcome: failed``. No value ever reaches a log, message or audit entry.
    """

    store_name: ClassVar[StoreName]

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- the contract -------------------------------------------------------------------------------
    def set(self, tenant: str, name: str, secret: str) -> CredentialInfo:
        """Create the credential, or replace its value (bumping ``version`` and ``rotated_at``).

        Raises:
            InvalidInputError: bad slug, name or secret (the message never shows the secret).
            NotFoundError: the tenant does not exist or is deleted.
        """
        ref = CredentialRef.of(tenant, name)
        validate_secret(secret, tenant=ref.tenant, name=ref.name)
        with self._audit_failure("credential.set", ref), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
            stmt = pg_insert(TenantCredential).values(
                tenant_id=tenant_id, name=ref.name, store=self.store_name, store_path=ref.path, version=1
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[TenantCredential.tenant_id, TenantCredential.name],
                set_={"version": TenantCredential.version + 1, "rotated_at": func.now(),
                      "store": self.store_name, "store_path": ref.path},
            )
            row = conn.execute(stmt.returning(*_RETURNED)).one()
            self._write(conn, ref, secret)
            record_audit(conn, action="credential.set", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"store": self.store_name, "version": row.version,
                                  "replaced": row.version > 1})
        logger.info("credential set: tenant=%s name=%s version=%d store=%s",
                    ref.tenant, ref.name, row.version, self.store_name)
        return _info(ref.tenant, row)

    def get(self, tenant: str, name: str) -> str:
        """Return the secret value. Host-side use only (the sandbox attaches it to requests).

        Raises:
            NotFoundError: the tenant or the credential does not exist.
            TenantIsolationError: the metadata row points at another path (altered outside the platform).
            CredentialError: the backend copy is missing, altered, or under another master key.
        """
        ref = CredentialRef.of(tenant, name)
        with self._audit_failure("credential.get", ref), self._engine.begin() as conn:
            _live_tenant_id(conn, ref.tenant)
            row = self._metadata(conn, ref)
            secret = self._read(conn, ref)
            record_audit(conn, action="credential.get", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant, details={"store": self.store_name, "version": row.version})
        logger.debug("credential read: tenant=%s name=%s version=%d", ref.tenant, ref.name, row.version)
        return secret

    def list(self, tenant: str) -> builtins.list[CredentialInfo]:
        """The tenant's credentials (metadata only), sorted by name."""
        validate_slug(tenant)
        with self._audit_failure("credential.list", None, tenant), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, tenant)
            rows = conn.execute(
                select(*_RETURNED)
                .where(TenantCredential.tenant_id == tenant_id)
                .order_by(TenantCredential.name)
            ).all()
            record_audit(conn, action="credential.list", target_type="credential", tenant_slug=tenant,
                         details={"count": len(rows)})
        return [_info(tenant, row) for row in rows]

    def rotate(self, tenant: str, name: str, new_secret: str) -> CredentialInfo:
        """Replace the value of an existing credential, bumping ``version`` and ``rotated_at``.

        Raises:
            NotFoundError: the tenant or the credential does not exist (use :meth:`set` to create one).
        """
        ref = CredentialRef.of(tenant, name)
        validate_secret(new_secret, tenant=ref.tenant, name=ref.name)
        with self._audit_failure("credential.rotate", ref), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
            row = conn.execute(
                update(TenantCredential)
                .where(TenantCredential.tenant_id == tenant_id, TenantCredential.name == ref.name)
                .values(version=TenantCredential.version + 1, rotated_at=func.now(), store=self.store_name,
                        store_path=ref.path)
                .returning(*_RETURNED)
            ).one_or_none()
            if row is None:
                raise _missing(ref)
            self._write(conn, ref, new_secret)
            record_audit(conn, action="credential.rotate", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant, details={"store": self.store_name, "version": row.version})
        logger.info("credential rotated: tenant=%s name=%s version=%d", ref.tenant, ref.name, row.version)
        return _info(ref.tenant, row)

    def delete(self, tenant: str, name: str) -> None:
        """Delete the credential's metadata and its value in the backend.

        Raises:
            NotFoundError: the tenant or the credential does not exist.
        """
        ref = CredentialRef.of(tenant, name)
        with self._audit_failure("credential.delete", ref), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
            row = conn.execute(
                delete(TenantCredential)
                .where(TenantCredential.tenant_id == tenant_id, TenantCredential.name == ref.name)
                .returning(TenantCredential.version)
            ).one_or_none()
            if row is None:
                raise _missing(ref)
            self._remove(conn, ref)
            record_audit(conn, action="credential.delete", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant, details={"store": self.store_name, "version": row.version})
        logger.info("credential deleted: tenant=%s name=%s", ref.tenant, ref.name)

    def purge_tenant(self, tenant: str) -> int:
        """Remove every credential of a tenant (metadata and values); works after the tenant row is gone.

        Returns:
            How many secrets were removed from the backend.
        """
        validate_slug(tenant)
        with self._engine.begin() as conn:
            tenant_ids = select(Tenant.id).where(Tenant.slug == tenant).scalar_subquery()
            conn.execute(delete(TenantCredential).where(TenantCredential.tenant_id == tenant_ids))
            removed = self._remove_tenant(conn, tenant)
            record_audit(conn, action="credential.purge", target_type="credential", tenant_slug=tenant,
                         details={"store": self.store_name, "removed": removed})
        logger.info("credentials purged: tenant=%s removed=%d", tenant, removed)
        return removed

    def secret_provider(self, tenant: str) -> Callable[[str], str]:
        """A ``(credential_name) -> secret`` callable bound to one tenant (for the sandbox host)."""
        validate_slug(tenant)

        def provide(name: str) -> str:
            return self.get(tenant, name)

        return provide

    # -- backend hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _write(self, conn: Connection, ref: CredentialRef, secret: str) -> None:
        """Store ``secret`` at ``ref.path`` (inside the caller's transaction where the backend allows)."""

    @abstractmethod
    def _read(self, conn: Connection, ref: CredentialRef) -> str:
        """Return the secret at ``ref.path``; raise CredentialError when it is missing or unreadable."""

    @abstractmethod
    def _remove(self, conn: Connection, ref: CredentialRef) -> None:
        """Delete the secret at ``ref.path`` (no error when it is already gone)."""

    @abstractmethod
    def _remove_tenant(self, conn: Connection, tenant: str) -> int:
        """Delete every secret under the tenant's path; return how many were removed."""

    # -- internals ----------------------------------------------------------------------------------
    def _metadata(self, conn: Connection, ref: CredentialRef) -> Any:
        row = conn.execute(
            select(*_RETURNED)
            .join(Tenant, Tenant.id == TenantCredential.tenant_id)
            .where(Tenant.slug == ref.tenant, TenantCredential.name == ref.name)
        ).one_or_none()
        if row is None:
            raise _missing(ref)
        if row.store_path != ref.path:
            raise TenantIsolationError(
                f"{ref.describe()}: its metadata row points at {row.store_path!r} instead of {ref.path!r} "
                "(the row was altered outside the platform); refusing to read it. Set the credential "
                f"again with `erp credentials set {ref.tenant} {ref.name}`"
            )
        if row.store != self.store_name:
            raise CredentialError(
                f"{ref.describe()} is kept in the {row.store!r} store, but this platform uses the "
                f"{self.store_name!r} store: configure the {row.store!r} store again (ERP_VAULT_ADDR), or "
                f"set the credential again with `erp credentials set {ref.tenant} {ref.name}`"
            )
        return row

    @contextmanager
    def _audit_failure(self, action: str, ref: CredentialRef | None,
                       tenant: str | None = None) -> Iterator[None]:
        """Audit a failed access in its own transaction (the failed one rolls back), then re-raise."""
        try:
            yield
        except ErpPlatformError as exc:
            slug = ref.tenant if ref is not None else tenant
            try:
                with self._engine.begin() as conn:
                    record_audit(conn, action=action, target_type="credential",
                                 target_id=ref.name if ref is not None else None, tenant_slug=slug,
                                 details={"store": self.store_name, "outcome": "failed",
                                          "error": type(exc).__name__})
            except Exception:  # the original error matters more than a failed audit of it
                logger.warning("could not audit failed %s for tenant=%s", action, slug, exc_info=True)
            raise


def _live_tenant_id(conn: Connection, tenant: str, *, lock: bool = False) -> int:
    """The id of an active or suspended tenant; with ``lock``, keep it from being purged meanwhile."""
    stmt = select(Tenant.id, Tenant.status).where(Tenant.slug == tenant)
    if lock:
        stmt = stmt.with_for_update(read=True, key_share=True)
    row = conn.execute(stmt).one_or_none()
    if row is None or row.status == "deleted":
        raise NotFoundError(
            f"tenant {tenant!r} does not exist or is deleted: credentials need an active or suspended "
            "tenant; list tenants with `erp tenant list`"
        )
    return int(row.id)


def _missing(ref: CredentialRef) -> NotFoundError:
    return NotFoundError(
        f"{ref.describe()} does not exist: create it with `erp credentials set {ref.tenant} {ref.name}`; "
        f"list existing ones with `erp credentials list {ref.tenant}`"
    )


def _info(tenant: str, row: Any) -> CredentialInfo:
    return CredentialInfo(tenant=tenant, name=row.name, store=row.store, store_path=row.store_path,
                          version=row.version, created_at=row.created_at, rotated_at=row.rotated_at)
