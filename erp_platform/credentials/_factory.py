"""Choosing the credential store from settings."""

from __future__ import annotations

from sqlalchemy import Engine

from erp_platform.config import Settings
from erp_platform.credentials._local import LocalEncryptedStore
from erp_platform.credentials._store import CredentialStore
from erp_platform.credentials._vault import VaultStore


def make_credential_store(settings: Settings, engine: Engine) -> CredentialStore:
    """A :class:`VaultStore` when ``ERP_VAULT_ADDR`` is set, else the :class:`LocalEncryptedStore`.

    Raises:
        ConfigurationError: ``ERP_VAULT_ADDR`` is set without ``ERP_VAULT_TOKEN``.
    """
    settings.check_consistency()
    if settings.vault_addr:
        assert settings.vault_token is not None  # guaranteed by check_consistency
        return VaultStore(engine, addr=settings.vault_addr, token=settings.vault_token,
                          mount=settings.vault_mount)
    return LocalEncryptedStore(engine, master_key=settings.master_key,
                               key_file=settings.resolved_home / "master.key")
