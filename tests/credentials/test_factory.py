"""Choosing the credential store from settings."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from erp_platform._errors import ConfigurationError
from erp_platform.config import load_settings
from erp_platform.credentials import LocalEncryptedStore, VaultStore, make_credential_store


def test_local_store_by_default_with_the_key_file_under_erp_home(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, vault_addr=None, master_key=None)
    store = make_credential_store(settings, engine)
    assert isinstance(store, LocalEncryptedStore)
    assert store.master_key.source == str(tmp_path.resolve() / "master.key")


def test_local_store_with_erp_master_key(engine: Engine, tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    store = make_credential_store(load_settings(home=tmp_path, vault_addr=None, master_key=key), engine)
    assert isinstance(store, LocalEncryptedStore)
    assert store.master_key.source == "ERP_MASTER_KEY"
    assert not (tmp_path / "master.key").exists()


def test_vault_store_when_erp_vault_addr_is_set(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, vault_addr="http://127.0.0.1:8200", vault_token="hvs.t",
                             vault_mount="kv")
    store = make_credential_store(settings, engine)
    assert isinstance(store, VaultStore)
    assert repr(store) == "VaultStore(addr='http://127.0.0.1:8200', mount='kv')"


def test_vault_without_a_token_is_a_configuration_error(engine: Engine, tmp_path: Path) -> None:
    from erp_platform.config import Settings

    settings = Settings(home=tmp_path, vault_addr="http://127.0.0.1:8200", vault_token=None)
    with pytest.raises(ConfigurationError) as err:
        make_credential_store(settings, engine)
    assert str(err.value) == (
        "ERP_VAULT_TOKEN is not set but ERP_VAULT_ADDR is: set ERP_VAULT_TOKEN to a Vault token allowed to "
        "read and write the KV v2 mount, or unset ERP_VAULT_ADDR to use the local encrypted credential store"
    )
