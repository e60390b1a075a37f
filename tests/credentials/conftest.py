"""Fixtures for the credential stores: a Vault KV v2 protocol test server, tenants, and both stores."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from erp_platform.credentials import CredentialStore, LocalEncryptedStore, VaultStore
from erp_platform.tenancy import TenantService
from tests.support.vault_server import VaultTestServer


@pytest.fixture(scope="session")
def vault_server() -> Iterator[VaultTestServer]:
    """One protocol test server (not Vault) per session, on a free loopback port."""
    with VaultTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def master_key() -> SecretStr:
    return SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())


@pytest.fixture
def new_tenant(tenants: TenantService) -> Callable[..., str]:
    """Create a fresh tenant (unique slug) in the session database and return its slug."""

    def make(prefix: str = "cred") -> str:
        slug = f"{prefix}_{secrets.token_hex(4)}"
        tenants.create(slug, "standard")
        return slug

    return make


def make_store(kind: str, engine: Engine, master_key: SecretStr, vault: VaultTestServer) -> CredentialStore:
    if kind == "local":
        return LocalEncryptedStore(engine, master_key=master_key)
    return VaultStore(engine, addr=vault.url, token=SecretStr(vault.root_token))


@pytest.fixture(params=["local", "vault"])
def store(request: pytest.FixtureRequest, engine: Engine, master_key: SecretStr,
          vault_server: VaultTestServer) -> CredentialStore:
    """Each contract test runs once against the local encrypted store and once against Vault KV v2."""
    return make_store(request.param, engine, master_key, vault_server)
