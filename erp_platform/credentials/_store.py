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

from erp_platform._errors import (
    CredentialError,
    ErpPlatformError,
    InvalidInputError,
    NotFoundError,
    TenantIsolationError,
)
from erp_platform.credentials._models import CredentialInfo, StoreName
from erp_platform.credentials._validation import (
    credential_path,
    validate_credential_name,
    validate_sdk_scope,
    validate_secret,
)
from erp_platform.db import validate_slug
from erp_platform.registry import Tenant, TenantCredential, record_audit

logger = logging.getLogger("erp_platform.credentials")

_RETURNED = (
    TenantCredential.sdk,
    TenantCredential.name,
    TenantCredential.store,
    TenantCredential.store_path,
    TenantCredential.version,
    TenantCredential.created_at,
    TenantCredential.rotated_at,
)


@dataclass(frozen=True)
class CredentialRef:
    """One credential of one tenant bound to one SDK (``sdk`` None: a tenant-wide credential stored before
    credentials were bound to SDKs), with its store path built from the validated slug, SDK and name."""

    tenant: str
    sdk: str | None
    name: str
    path: str

    @classmethod
    def of(cls, tenant: str, name: str, sdk: str | None) -> CredentialRef:
        return cls(tenant=validate_slug(tenant), sdk=None if sdk is None else validate_sdk_scope(sdk),
                   name=validate_credential_name(name), path=credential_path(tenant, name, sdk))

    @property
    def column(self) -> str:
        """The value of ``tenant_credentials.sdk``: the SDK, or '' for a tenant-wide credential."""
        return self.sdk or ""

    def describe(self) -> str:
        if self.sdk is None:
            return f"tenant-wide credential {self.name!r} of tenant {self.tenant!r}"
        return f"credential {self.name!r} of SDK {self.sdk!r} of tenant {self.tenant!r}"

    def set_command(self) -> str:
        """The command that (re)sets this credential, bound to its SDK."""
        sdk = self.sdk or "SDK"
        return f"printf %s VALUE | erp credentials set {self.tenant} {self.name} --sdk {sdk}"


class CredentialStore(ABC):
    """Per-tenant, per-SDK secrets: metadata in ``erp_control.tenant_credentials``, the value in a backend.

    A credential is bound to one SDK of one tenant: every call takes the tenant slug and the SDK name,
    and paths are built only from the validated slug, SDK and name, so no call for tenant A can address
    tenant B's secret, and no session of SDK Y reads a credential set for SDK X (sharing one needs an
    explicit, audited :meth:`grant`). Every access is audited (``credential.set``, ``.get``, ``.list``,
    ``.rotate``, ``.grant``, ``.delete``, ``.purge``) in the transaction of the change; a failed access
    is audited too, with ``outcome: failed``. No value ever reaches a log, message or audit entry.
    """

    store_name: ClassVar[StoreName]

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- the contract -------------------------------------------------------------------------------
    def set(self, tenant: str, name: str, secret: str, *, sdk: str) -> CredentialInfo:
        """Create the credential of SDK ``sdk``, or replace its value (bumping ``version`` and ``rotated_at``).

        Only sessions of that SDK read it (see :meth:`secret_provider`).

        Raises:
            InvalidInputError: bad slug, SDK, name or secret (the message never shows the secret).
            NotFoundError: the tenant does not exist or is deleted.
        """
        ref = CredentialRef.of(tenant, name, sdk)
        validate_secret(secret, tenant=ref.tenant, name=ref.name, sdk=ref.sdk)
        with self._audit_failure("credential.set", ref), self._engine.begin() as conn:
            row = self._upsert(conn, ref, secret)
            record_audit(conn, action="credential.set", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"sdk": ref.sdk, "store": self.store_name, "version": row.version,
                                  "replaced": row.version > 1})
        logger.info("credential set: tenant=%s sdk=%s name=%s version=%d store=%s",
                    ref.tenant, ref.sdk, ref.name, row.version, self.store_name)
        return _info(ref.tenant, row)

    def grant(self, tenant: str, name: str, *, sdk: str, from_sdk: str | None = None) -> CredentialInfo:
        """Bind a copy of an existing credential to SDK ``sdk`` (an explicit, audited share).

        The source is credential ``name`` of SDK ``from_sdk``, or the tenant-wide credential ``name``
        (stored before credentials were bound to SDKs) when ``from_sdk`` is None. Later changes of the
        source do not follow: set or grant again.

        Raises:
            NotFoundError: the tenant or the source credential does not exist.
            InvalidInputError: bad slug, SDK or name, or the source is the target itself.
        """
        source = CredentialRef.of(tenant, name, from_sdk)
        ref = CredentialRef.of(tenant, name, sdk)
        if source.path == ref.path:
            raise InvalidInputError(
                f"{ref.describe()} cannot be granted to itself: name another SDK with --from-sdk, or leave "
                "it out to grant the tenant-wide credential"
            )
        with self._audit_failure("credential.grant", ref), self._engine.begin() as conn:
            _live_tenant_id(conn, ref.tenant, lock=True)
            origin = self._metadata(conn, source)
            secret = self._read(conn, source)
            row = self._upsert(conn, ref, secret)
            record_audit(conn, action="credential.grant", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"sdk": ref.sdk, "from_sdk": source.sdk, "from_version": origin.version,
                                  "store": self.store_name, "version": row.version})
        logger.info("credential granted: tenant=%s name=%s from_sdk=%s sdk=%s", ref.tenant, ref.name,
                    source.sdk, ref.sdk)
        return _info(ref.tenant, row)

    def get(self, tenant: str, name: str, *, sdk: str) -> str:
        """Return the secret value of SDK ``sdk``. Host-side use only (the sandbox attaches it to requests).

        Raises:
            NotFoundError: the tenant, or the credential for this SDK, does not exist.
            TenantIsolationError: the metadata row points at another path (altered outside the platform).
            CredentialError: the backend copy is missing, altered, or under another master key.
        """
        ref = CredentialRef.of(tenant, name, sdk)
        with self._audit_failure("credential.get", ref), self._engine.begin() as conn:
            _live_tenant_id(conn, ref.tenant)
            row = self._metadata(conn, ref)
            secret = self._read(conn, ref)
            record_audit(conn, action="credential.get", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"sdk": ref.sdk, "store": self.store_name, "version": row.version})
        logger.debug("credential read: tenant=%s sdk=%s name=%s version=%d", ref.tenant, ref.sdk, ref.name,
                     row.version)
        return secret

    def list(self, tenant: str, *, sdk: str | None = None) -> builtins.list[CredentialInfo]:
        """The tenant's credentials (metadata only), sorted by SDK then name; with ``sdk``, that SDK's only.

        Tenant-wide credentials (stored before credentials were bound to SDKs) have ``sdk`` None.
        """
        validate_slug(tenant)
        if sdk is not None:
            validate_sdk_scope(sdk)
        with self._audit_failure("credential.list", None, tenant), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, tenant)
            stmt = select(*_RETURNED).where(TenantCredential.tenant_id == tenant_id)
            if sdk is not None:
                stmt = stmt.where(TenantCredential.sdk == sdk)
            rows = conn.execute(stmt.order_by(TenantCredential.sdk, TenantCredential.name)).all()
            record_audit(conn, action="credential.list", target_type="credential", tenant_slug=tenant,
                         details={"count": len(rows), "sdk": sdk})
        return [_info(tenant, row) for row in rows]

    def rotate(self, tenant: str, name: str, new_secret: str, *, sdk: str) -> CredentialInfo:
        """Replace the value of an existing credential of SDK ``sdk``, bumping ``version`` and ``rotated_at``.

        Raises:
            NotFoundError: the tenant or the credential does not exist (use :meth:`set` to create one).
        """
        ref = CredentialRef.of(tenant, name, sdk)
        validate_secret(new_secret, tenant=ref.tenant, name=ref.name, sdk=ref.sdk)
        with self._audit_failure("credential.rotate", ref), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
            row = conn.execute(
                update(TenantCredential)
                .where(TenantCredential.tenant_id == tenant_id, TenantCredential.sdk == ref.column,
                       TenantCredential.name == ref.name)
                .values(version=TenantCredential.version + 1, rotated_at=func.now(), store=self.store_name,
                        store_path=ref.path)
                .returning(*_RETURNED)
            ).one_or_none()
            if row is None:
                raise _missing(ref)
            self._write(conn, ref, new_secret)
            record_audit(conn, action="credential.rotate", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"sdk": ref.sdk, "store": self.store_name, "version": row.version})
        logger.info("credential rotated: tenant=%s sdk=%s name=%s version=%d", ref.tenant, ref.sdk, ref.name,
                    row.version)
        return _info(ref.tenant, row)

    def delete(self, tenant: str, name: str, *, sdk: str | None) -> None:
        """Delete the credential's metadata and its value in the backend.

        ``sdk`` None deletes the tenant-wide credential of that name (stored before credentials were
        bound to SDKs).

        Raises:
            NotFoundError: the tenant or the credential does not exist.
        """
        ref = CredentialRef.of(tenant, name, sdk)
        with self._audit_failure("credential.delete", ref), self._engine.begin() as conn:
            tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
            row = conn.execute(
                delete(TenantCredential)
                .where(TenantCredential.tenant_id == tenant_id, TenantCredential.sdk == ref.column,
                       TenantCredential.name == ref.name)
                .returning(TenantCredential.version)
            ).one_or_none()
            if row is None:
                raise _missing(ref)
            self._remove(conn, ref)
            record_audit(conn, action="credential.delete", target_type="credential", target_id=ref.name,
                         tenant_slug=ref.tenant,
                         details={"sdk": ref.sdk, "store": self.store_name, "version": row.version})
        logger.info("credential deleted: tenant=%s sdk=%s name=%s", ref.tenant, ref.sdk, ref.name)

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

    def secret_provider(self, tenant: str, sdk: str) -> Callable[[str], str]:
        """A ``(credential_name) -> secret`` callable bound to one SDK of one tenant (for the sandbox host):
        it reads only credentials set for (or granted to) that SDK."""
        validate_slug(tenant)
        validate_sdk_scope(sdk)

        def provide(name: str) -> str:
            return self.get(tenant, name, sdk=sdk)

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
    def _upsert(self, conn: Connection, ref: CredentialRef, secret: str) -> Any:
        """Insert or replace the metadata row and write the secret (the caller's transaction)."""
        tenant_id = _live_tenant_id(conn, ref.tenant, lock=True)
        stmt = pg_insert(TenantCredential).values(
            tenant_id=tenant_id, sdk=ref.column, name=ref.name, store=self.store_name, store_path=ref.path,
            version=1,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[TenantCredential.tenant_id, TenantCredential.sdk, TenantCredential.name],
            set_={"version": TenantCredential.version + 1, "rotated_at": func.now(),
                  "store": self.store_name, "store_path": ref.path},
        )
        row = conn.execute(stmt.returning(*_RETURNED)).one()
        self._write(conn, ref, secret)
        return row

    def _metadata(self, conn: Connection, ref: CredentialRef) -> Any:
        row = conn.execute(
            select(*_RETURNED)
            .join(Tenant, Tenant.id == TenantCredential.tenant_id)
            .where(Tenant.slug == ref.tenant, TenantCredential.sdk == ref.column,
                   TenantCredential.name == ref.name)
        ).one_or_none()
        if row is None:
            raise _missing(ref)
        if row.store_path != ref.path:
            raise TenantIsolationError(
                f"{ref.describe()}: its metadata row points at {row.store_path!r} instead of {ref.path!r} "
                "(the row was altered outside the platform); refusing to read it. Set the credential "
                f"again with `{ref.set_command()}`"
            )
        if row.store != self.store_name:
            raise CredentialError(
                f"{ref.describe()} is kept in the {row.store!r} store, but this platform uses the "
                f"{self.store_name!r} store: configure the {row.store!r} store again (ERP_VAULT_ADDR), or "
                f"set the credential again with `{ref.set_command()}`"
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
                                          "error": type(exc).__name__,
                                          **({"sdk": ref.sdk} if ref is not None else {})})
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
        f"{ref.describe()} does not exist: create it with `{ref.set_command()}`; "
        f"list existing ones with `erp credentials list {ref.tenant}`"
    )


def _info(tenant: str, row: Any) -> CredentialInfo:
    return CredentialInfo(tenant=tenant, sdk=row.sdk or None, name=row.name, store=row.store,
                          store_path=row.store_path, version=row.version, created_at=row.created_at,
                          rotated_at=row.rotated_at)
