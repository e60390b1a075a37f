"""The Vault KV v2 store: per-tenant policy, error mapping, and the protocol test server it runs against."""

from __future__ import annotations

import socket
from collections.abc import Callable

import hvac
import hvac.exceptions
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from erp_platform._errors import CredentialError, InvalidInputError
from erp_platform.credentials import CredentialStoreUnavailableError, VaultStore, vault_policy
from tests.support.vault_server import VaultTestServer, parse_policy

NewTenant = Callable[..., str]
SDK = "erp"
SECRET = "vault-Secret-Value-7"


def root_client(vault: VaultTestServer) -> hvac.Client:
    return hvac.Client(url=vault.url, token=vault.root_token)


def vault_store(engine: Engine, vault: VaultTestServer, token: str | None = None, *, mount: str = "secret",
                addr: str | None = None) -> VaultStore:
    return VaultStore(engine, addr=addr or vault.url, token=SecretStr(token or vault.root_token), mount=mount)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the policy -----------------------------------------------------------------------------------------
def test_policy_text_is_pinned() -> None:
    assert vault_policy("acme") == (
        '# ERP platform: confines a token to tenant "acme"\'s credentials in KV v2 mount "secret".\n'
        "# Install: vault policy write erp-tenant-acme <this file>\n"
        "# Token:   vault token create -policy=erp-tenant-acme\n"
        'path "secret/data/erp/tenants/acme/*" {\n'
        '  capabilities = ["create", "read", "update", "delete"]\n'
        "}\n"
        'path "secret/metadata/erp/tenants/acme/*" {\n'
        '  capabilities = ["read", "list", "delete"]\n'
        "}\n"
    )
    assert 'path "kv/erp/data/erp/tenants/acme/*"' in vault_policy("acme", mount="/kv/erp/")


def test_policy_refuses_bad_slugs_and_mounts() -> None:
    with pytest.raises(InvalidInputError, match="tenant slug '\\*' is invalid"):
        vault_policy("*")
    with pytest.raises(CredentialError) as err:
        vault_policy("acme", mount="sec ret")
    assert str(err.value) == (
        "Vault mount 'sec ret' (ERP_VAULT_MOUNT) is invalid: use the KV v2 mount path, e.g. secret or kv/erp "
        "(letters, digits, '-', '_' and '/')"
    )


def test_a_token_with_the_tenant_policy_reaches_only_that_tenant(
        engine: Engine, vault_server: VaultTestServer, new_tenant: NewTenant) -> None:
    a = new_tenant("pol")
    b = f"{a}_two"  # shares A's prefix: the policy's trailing slash must keep it out
    from erp_platform.tenancy import TenantService

    TenantService(engine).create(b, "free")
    vault_store(engine, vault_server).set(b, "token", "b-value", sdk=SDK)

    confined = vault_store(engine, vault_server, vault_server.create_token(vault_policy(a)))
    assert confined.vault_policy(a) == vault_policy(a)
    confined.set(a, "token", SECRET, sdk=SDK)
    assert confined.get(a, "token", sdk=SDK) == SECRET
    assert confined.rotate(a, "token", "next", sdk=SDK).version == 2
    confined.delete(a, "token", sdk=SDK)
    confined.set(a, "token", SECRET, sdk=SDK)
    assert confined.purge_tenant(a) == 1

    with pytest.raises(CredentialError) as err:
        confined.get(b, "token", sdk=SDK)
    assert str(err.value) == (
        f"Vault at {vault_server.url} refused the read of secret/data/erp/tenants/{b}/sdks/erp/token (credential "
        f"'token' of SDK 'erp' of tenant {b!r}): permission denied. The token in ERP_VAULT_TOKEN is "
        "invalid, expired, or "
        f"lacks a policy for this path: grant it the policy from `vault_policy({b!r}, mount='secret')` (or a "
        "platform-wide one on secret/data/erp/tenants/* and secret/metadata/erp/tenants/*)"
    )
    with pytest.raises(CredentialError, match="permission denied"):
        confined.purge_tenant(b)
    assert vault_store(engine, vault_server).get(b, "token", sdk=SDK) == "b-value"


# -- error mapping ----------------------------------------------------------------------------------------
def test_unknown_token_is_refused(engine: Engine, vault_server: VaultTestServer,
                                  new_tenant: NewTenant) -> None:
    with pytest.raises(CredentialError, match=r"permission denied\. The token in ERP_VAULT_TOKEN is invalid"):
        vault_store(engine, vault_server, "hvs.not-a-token").set(new_tenant(), "token", SECRET, sdk=SDK)


def test_missing_mount(engine: Engine, vault_server: VaultTestServer, new_tenant: NewTenant) -> None:
    with pytest.raises(CredentialError) as err:
        vault_store(engine, vault_server, mount="nope").set(new_tenant(), "token", SECRET, sdk=SDK)
    assert str(err.value) == (
        f"Vault at {vault_server.url} has no KV v2 mount 'nope' (ERP_VAULT_MOUNT): enable one with `vault "
        "secrets enable -path=nope kv-v2`, or set ERP_VAULT_MOUNT to an existing KV v2 mount"
    )


def test_unreachable_vault_is_transient(engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    addr = f"http://127.0.0.1:{free_port()}"
    store = VaultStore(engine, addr=addr, token=SecretStr("hvs.whatever"), timeout=2)
    with pytest.raises(CredentialStoreUnavailableError) as err:
        store.set(slug, "token", SECRET, sdk=SDK)
    assert err.value.transient
    assert str(err.value) == (
        f"cannot reach Vault at {addr} (ERP_VAULT_ADDR) for the write of secret/data/erp/tenants/{slug}/sdks/erp/"
        f"token (credential 'token' of SDK 'erp' of tenant {slug!r}): ConnectionError. Check the "
        "address and that Vault "
        "is running, then retry"
    )
    assert store.list(slug) == []  # the failed write left no metadata


def test_sealed_vault_is_transient(engine: Engine, vault_server: VaultTestServer,
                                   new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = vault_store(engine, vault_server)
    store.set(slug, "token", SECRET, sdk=SDK)
    vault_server.sealed = True
    try:
        with pytest.raises(CredentialStoreUnavailableError) as err:
            store.get(slug, "token", sdk=SDK)
    finally:
        vault_server.sealed = False
    assert str(err.value) == (
        f"Vault at {vault_server.url} is sealed or unavailable during the read of secret/data/erp/tenants/"
        f"{slug}/sdks/erp/token (credential 'token' of SDK 'erp' of tenant {slug!r}): unseal it "
        "(`vault operator unseal`) or wait "
        "for it to come back, then retry"
    )
    assert store.get(slug, "token", sdk=SDK) == SECRET


def test_secret_deleted_in_vault_outside_the_platform(engine: Engine, vault_server: VaultTestServer,
                                                      new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = vault_store(engine, vault_server)
    store.set(slug, "token", SECRET, sdk=SDK)
    store.set(slug, "soft", SECRET, sdk=SDK)
    kv = root_client(vault_server).secrets.kv.v2
    kv.delete_metadata_and_all_versions(path=f"erp/tenants/{slug}/sdks/erp/token")
    kv.delete_latest_version_of_secret(path=f"erp/tenants/{slug}/sdks/erp/soft")  # soft delete
    for name in ("token", "soft"):
        with pytest.raises(CredentialError) as err:
            store.get(slug, name, sdk=SDK)
        assert str(err.value) == (
            f"credential {name!r} of SDK 'erp' of tenant {slug!r} is recorded, but Vault has no live secret at "
            f"secret/data/erp/tenants/{slug}/sdks/erp/{name} (it was deleted in Vault outside the platform): set it "
            f"again with `printf %s VALUE | erp credentials set {slug} {name} --sdk erp`"
        )
    store.delete(slug, "token", sdk=SDK)  # deleting what Vault already lost is fine


def test_secret_written_outside_the_platform_without_a_value(engine: Engine, vault_server: VaultTestServer,
                                                             new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = vault_store(engine, vault_server)
    store.set(slug, "token", SECRET, sdk=SDK)
    root_client(vault_server).secrets.kv.v2.create_or_update_secret(
        path=f"erp/tenants/{slug}/sdks/erp/token", secret={"password": "x"})
    with pytest.raises(CredentialError) as err:
        store.get(slug, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {slug!r}: the Vault secret at "
        f"secret/data/erp/tenants/{slug}/sdks/erp/token "
        "has no text field 'value' (it was written outside the platform): set it again with "
        f"`printf %s VALUE | erp credentials set {slug} token --sdk erp`"
    )


def test_layout_in_vault_and_versions(engine: Engine, vault_server: VaultTestServer,
                                      new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = vault_store(engine, vault_server)
    store.set(slug, "token", "v1", sdk=SDK)
    store.rotate(slug, "token", "v2", sdk=SDK)
    assert vault_server.stored("secret", f"erp/tenants/{slug}/sdks/erp/token") == {"value": "v2"}
    meta = root_client(vault_server).secrets.kv.v2.read_secret_metadata(path=f"erp/tenants/{slug}/sdks/erp/token")
    assert meta["data"]["current_version"] == 2


def test_purge_removes_nested_folders(engine: Engine, vault_server: VaultTestServer,
                                      new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = vault_store(engine, vault_server)
    store.set(slug, "token", SECRET, sdk=SDK)
    root_client(vault_server).secrets.kv.v2.create_or_update_secret(
        path=f"erp/tenants/{slug}/sdks/erp/extra/deep", secret={"value": "x"})
    assert store.purge_tenant(slug) == 2
    assert [p for p in vault_server.paths() if f"/{slug}/" in p] == []


def test_repr_hides_the_token(engine: Engine, vault_server: VaultTestServer) -> None:
    store = vault_store(engine, vault_server)
    assert repr(store) == f"VaultStore(addr={vault_server.url!r}, mount='secret')"
    assert vault_server.root_token not in repr(store)


# -- the protocol test server itself ------------------------------------------------------------------------
def test_server_lists_with_the_list_method_and_with_get_list_true(vault_server: VaultTestServer) -> None:
    kv = root_client(vault_server).secrets.kv.v2
    kv.create_or_update_secret(path="proto/list/a", secret={"value": "1"})
    kv.create_or_update_secret(path="proto/list/sub/b", secret={"value": "2"})
    strict = hvac.Client(url=vault_server.url, token=vault_server.root_token, strict_http=True)
    assert kv.list_secrets(path="proto/list")["data"]["keys"] == ["a", "sub/"]
    assert strict.secrets.kv.v2.list_secrets(path="proto/list")["data"]["keys"] == ["a", "sub/"]
    assert ("LIST", "/v1/secret/metadata/proto/list") in vault_server.requests
    assert ("GET", "/v1/secret/metadata/proto/list") in vault_server.requests
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.list_secrets(path="proto/none")


def test_server_versions_cas_and_errors(vault_server: VaultTestServer) -> None:
    kv = root_client(vault_server).secrets.kv.v2
    assert kv.create_or_update_secret(path="proto/v", secret={"value": "1"}, cas=0)["data"]["version"] == 1
    kv.create_or_update_secret(path="proto/v", secret={"value": "2"})
    first = kv.read_secret_version(path="proto/v", version=1, raise_on_deleted_version=True)
    assert first["data"]["data"] == {"value": "1"}
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        kv.create_or_update_secret(path="proto/v", secret={"value": "3"}, cas=1)
    assert err.value.errors == ["check-and-set parameter did not match the current version"]
    with pytest.raises(hvac.exceptions.Forbidden) as denied:
        hvac.Client(url=vault_server.url).secrets.kv.v2.read_secret_version(
            path="proto/v", raise_on_deleted_version=True)
    assert denied.value.errors == ["permission denied"]


@pytest.mark.parametrize(("hcl", "message"), [
    ('path "a/*" { capabilities = ["read", "fly"] }',
     "unknown capabilities ['fly'] in policy for path 'a/*'"),
    ("# nothing here", "policy has no path rules"),
])
def test_server_refuses_bad_policies(vault_server: VaultTestServer, hcl: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        vault_server.create_token(hcl)
    assert str(err.value) == message


def test_server_policy_matching_prefers_the_most_specific_rule() -> None:
    rules = parse_policy('path "s/data/*" { capabilities = ["read"] }\n'
                         'path "s/data/secret" { capabilities = ["deny"] }\n'
                         'path "s/+/x" { capabilities = ["list"] }')
    from tests.support.vault_server import _allowed

    assert _allowed(rules, "s/data/other", "read")
    assert not _allowed(rules, "s/data/secret", "read")
    assert _allowed(rules, "s/metadata/x", "list")
    assert not _allowed(rules, "t/data/x", "read")
