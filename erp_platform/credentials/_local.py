"""The default credential store: AES-256-GCM ciphertext in ``erp_control.local_secrets``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from erp_platform._errors import CredentialError, TenantIsolationError
from erp_platform.credentials._master_key import MasterKey, load_master_key
from erp_platform.credentials._models import StoreName
from erp_platform.credentials._store import CredentialRef, CredentialStore
from erp_platform.credentials._validation import tenant_path
from erp_platform.registry import LocalSecret

NONCE_BYTES = 12


def _aad(ref: CredentialRef) -> bytes:
    """Associated data: the store path, so a ciphertext moved to another tenant's or name's row fails."""
    return b"erp-platform/credential:" + ref.path.encode("ascii")


class LocalEncryptedStore(CredentialStore):
    """Secrets encrypted with AES-256-GCM in the platform database.

    Each tenant has its own key, derived with HKDF-SHA256 from the master key (``info`` binds the slug);
    the store path is the associated data; every write draws a fresh random 96-bit nonce. Each row keeps
    the master key's id, so a wrong master key gives a clear error instead of a failed tag check.

    The master key is ``master_key`` (``ERP_MASTER_KEY``) or, when unset, ``key_file``
    (``ERP_HOME/master.key``), created with mode 0600 on first use and refused if group or others can
    access it.
    """

    store_name: ClassVar[StoreName] = "local"

    def __init__(self, engine: Engine, *, master_key: SecretStr | None = None,
                 key_file: Path | None = None) -> None:
        super().__init__(engine)
        if master_key is None and key_file is None:
            raise CredentialError(
                "LocalEncryptedStore needs a master key: pass master_key (ERP_MASTER_KEY) or key_file "
                "(ERP_HOME/master.key)"
            )
        self._configured = master_key
        self._key_file = key_file or Path("master.key")
        self._key: MasterKey | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        source = "ERP_MASTER_KEY" if self._configured is not None else str(self._key_file)
        return f"LocalEncryptedStore(master_key_source={source!r})"

    @property
    def master_key(self) -> MasterKey:
        """The master key, loaded (or the key file created) on first use."""
        with self._lock:
            if self._key is None:
                self._key = load_master_key(self._configured, self._key_file)
            return self._key

    # -- backend ------------------------------------------------------------------------------------
    def _write(self, conn: Connection, ref: CredentialRef, secret: str) -> None:
        key = self.master_key
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key.tenant_key(ref.tenant)).encrypt(nonce, secret.encode("utf-8"), _aad(ref))
        values = {"tenant_slug": ref.tenant, "nonce": nonce, "ciphertext": ciphertext, "key_id": key.key_id}
        stmt = pg_insert(LocalSecret).values(store_path=ref.path, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=[LocalSecret.store_path],
                                                set_={**values, "updated_at": func.now()}))

    def _read(self, conn: Connection, ref: CredentialRef) -> str:
        row = conn.execute(
            select(LocalSecret.tenant_slug, LocalSecret.nonce, LocalSecret.ciphertext, LocalSecret.key_id)
            .where(LocalSecret.store_path == ref.path)
        ).one_or_none()
        again = f"set it again with `{ref.set_command()}`"
        if row is None:
            raise CredentialError(
                f"{ref.describe()} has metadata but no ciphertext in erp_control.local_secrets (it was "
                f"removed outside the platform): {again}"
            )
        if row.tenant_slug != ref.tenant:
            raise TenantIsolationError(
                f"{ref.describe()}: its ciphertext row at {ref.path!r} is labelled for tenant "
                f"{row.tenant_slug!r} (altered outside the platform); refusing to decrypt it: {again}"
            )
        key = self.master_key
        if row.key_id != key.key_id:
            raise CredentialError(
                f"{ref.describe()} was encrypted with another master key (key id {row.key_id}; the current "
                f"master key from {key.source} has id {key.key_id}): set ERP_MASTER_KEY (or restore "
                f"ERP_HOME/master.key) to the key it was written with, or {again}"
            )
        try:
            aead = AESGCM(key.tenant_key(ref.tenant))
            plain = aead.decrypt(bytes(row.nonce), bytes(row.ciphertext), _aad(ref))
        except InvalidTag:
            raise CredentialError(
                f"{ref.describe()} failed authenticated decryption: its ciphertext was altered, or copied "
                f"from another tenant's or credential's row; refusing to use it: {again}"
            ) from None
        return plain.decode("utf-8")

    def _remove(self, conn: Connection, ref: CredentialRef) -> None:
        conn.execute(delete(LocalSecret).where(LocalSecret.store_path == ref.path))

    def _remove_tenant(self, conn: Connection, tenant: str) -> int:
        prefix = tenant_path(tenant) + "/"
        result = conn.execute(
            delete(LocalSecret).where(LocalSecret.store_path.startswith(prefix, autoescape=True))
        )
        return int(result.rowcount)
