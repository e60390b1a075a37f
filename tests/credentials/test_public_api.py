"""The package's public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import erp_platform.credentials as credentials


def test_exported_names() -> None:
    assert set(credentials.__all__) == {
        "CREDENTIAL_NAME_RULE",
        "MAX_SECRET_BYTES",
        "CredentialInfo",
        "CredentialStore",
        "CredentialStoreUnavailableError",
        "LocalEncryptedStore",
        "MasterKey",
        "VaultStore",
        "credential_path",
        "load_master_key",
        "make_credential_store",
        "master_key_id",
        "validate_credential_name",
        "validate_sdk_scope",
        "validate_secret",
        "vault_policy",
    }
    for name in credentials.__all__:
        assert getattr(credentials, name) is not None


def test_credential_info_has_no_field_for_a_value() -> None:
    assert set(credentials.CredentialInfo.model_fields) == {
        "tenant", "sdk", "name", "store", "store_path", "version", "created_at", "rotated_at"}
    assert credentials.CredentialInfo.model_config["extra"] == "forbid"
    assert credentials.CredentialInfo.model_config["frozen"] is True
