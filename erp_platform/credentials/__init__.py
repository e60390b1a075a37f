"""Credential stores: an AES-GCM encrypted local store (default) and HashiCorp Vault KV v2.

Build one with :func:`make_credential_store`; every call names the tenant and the SDK the credential is
bound to, and no call for one tenant can reach another tenant's secret, nor one SDK's session another
SDK's. Values never appear in logs, errors, reprs or the audit log.
"""

from erp_platform.credentials._errors import CredentialStoreUnavailableError
from erp_platform.credentials._factory import make_credential_store
from erp_platform.credentials._local import LocalEncryptedStore
from erp_platform.credentials._master_key import MasterKey, load_master_key, master_key_id
from erp_platform.credentials._models import CredentialInfo
from erp_platform.credentials._store import CredentialStore
from erp_platform.credentials._validation import (
    CREDENTIAL_NAME_RULE,
    MAX_SECRET_BYTES,
    credential_path,
    validate_credential_name,
    validate_sdk_scope,
    validate_secret,
)
from erp_platform.credentials._vault import VaultStore, vault_policy

__all__ = [
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
]
