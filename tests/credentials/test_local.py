"""The local encrypted store: AES-GCM with per-tenant keys, path-bound ciphertexts, the master key file."""

from __future__ import annotations

import base64
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, delete, select, update

from erp_platform._errors import ConfigurationError, CredentialError, TenantIsolationError
from erp_platform.credentials import LocalEncryptedStore, MasterKey, load_master_key, master_key_id
from erp_platform.registry import LocalSecret

NewTenant = Callable[..., str]
SDK = "erp"
SECRET = "local-Secret-Value-42"


def fresh_key() -> SecretStr:
    return SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())


def ciphertext_row(engine: Engine, path: str) -> tuple[bytes, bytes, str]:
    with engine.connect() as conn:
        row = conn.execute(select(LocalSecret.nonce, LocalSecret.ciphertext, LocalSecret.key_id)
                           .where(LocalSecret.store_path == path)).one()
    return bytes(row.nonce), bytes(row.ciphertext), row.key_id


def overwrite_row(engine: Engine, path: str, row: tuple[bytes, bytes, str]) -> None:
    with engine.begin() as conn:
        conn.execute(update(LocalSecret).where(LocalSecret.store_path == path)
                     .values(nonce=row[0], ciphertext=row[1], key_id=row[2]))


@pytest.fixture
def local(engine: Engine, master_key: SecretStr) -> LocalEncryptedStore:
    return LocalEncryptedStore(engine, master_key=master_key)


# -- ciphertexts -------------------------------------------------------------------------------------------
def test_ciphertext_is_not_the_value_and_every_write_uses_a_new_nonce(
        local: LocalEncryptedStore, engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    path = f"erp/tenants/{slug}/sdks/erp/token"
    local.set(slug, "token", SECRET, sdk=SDK)
    nonce1, ct1, key_id = ciphertext_row(engine, path)
    local.set(slug, "token", SECRET, sdk=SDK)
    nonce2, ct2, _ = ciphertext_row(engine, path)
    assert len(nonce1) == 12 and nonce1 != nonce2 and ct1 != ct2
    assert SECRET.encode() not in ct1
    assert len(ct1) == len(SECRET) + 16  # AES-GCM: same length as the text plus a 16-byte tag
    assert key_id == local.master_key.key_id


def test_ciphertext_copied_to_another_tenant_fails_to_decrypt(local: LocalEncryptedStore, engine: Engine,
                                                              new_tenant: NewTenant) -> None:
    a, b = new_tenant("aad"), new_tenant("aad")
    local.set(a, "token", "value-of-a", sdk=SDK)
    local.set(b, "token", SECRET, sdk=SDK)
    overwrite_row(engine, f"erp/tenants/{a}/sdks/erp/token", ciphertext_row(engine, f"erp/tenants/{b}/sdks/erp/token"))
    with pytest.raises(CredentialError) as err:
        local.get(a, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {a!r} failed authenticated decryption: its "
        "ciphertext was altered, or "
        "copied from another tenant's or credential's row; refusing to use it: set it again with "
        f"`printf %s VALUE | erp credentials set {a} token --sdk erp`"
    )
    assert SECRET not in str(err.value)
    assert local.get(b, "token", sdk=SDK) == SECRET


def test_ciphertext_copied_to_another_name_of_the_same_tenant_fails(
        local: LocalEncryptedStore, engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant("aad")
    local.set(slug, "token", SECRET, sdk=SDK)
    local.set(slug, "password", "pw", sdk=SDK)
    overwrite_row(engine, f"erp/tenants/{slug}/sdks/erp/password",
                  ciphertext_row(engine, f"erp/tenants/{slug}/sdks/erp/token"))
    with pytest.raises(CredentialError, match="failed authenticated decryption"):
        local.get(slug, "password", sdk=SDK)


def test_altered_ciphertext_fails(local: LocalEncryptedStore, engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    local.set(slug, "token", SECRET, sdk=SDK)
    nonce, ct, key_id = ciphertext_row(engine, f"erp/tenants/{slug}/sdks/erp/token")
    overwrite_row(engine, f"erp/tenants/{slug}/sdks/erp/token", (nonce, bytes([ct[0] ^ 1]) + ct[1:], key_id))
    with pytest.raises(CredentialError, match="failed authenticated decryption"):
        local.get(slug, "token", sdk=SDK)


def test_ciphertext_row_labelled_for_another_tenant_is_refused(local: LocalEncryptedStore, engine: Engine,
                                                               new_tenant: NewTenant) -> None:
    a, b = new_tenant(), new_tenant()
    local.set(a, "token", SECRET, sdk=SDK)
    with engine.begin() as conn:
        conn.execute(update(LocalSecret).where(LocalSecret.store_path == f"erp/tenants/{a}/sdks/erp/token")
                     .values(tenant_slug=b))
    with pytest.raises(TenantIsolationError) as err:
        local.get(a, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {a!r}: its ciphertext row at "
        f"'erp/tenants/{a}/sdks/erp/token' is labelled for "
        f"tenant {b!r} (altered outside the platform); refusing to decrypt it: set it again with "
        f"`printf %s VALUE | erp credentials set {a} token --sdk erp`"
    )


def test_missing_ciphertext_row(local: LocalEncryptedStore, engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    local.set(slug, "token", SECRET, sdk=SDK)
    with engine.begin() as conn:
        conn.execute(delete(LocalSecret).where(LocalSecret.store_path == f"erp/tenants/{slug}/sdks/erp/token"))
    with pytest.raises(CredentialError) as err:
        local.get(slug, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {slug!r} has metadata but no ciphertext in "
        "erp_control.local_secrets "
        "(it was removed outside the platform): set it again with `printf %s VALUE | erp credentials "
        f"set {slug} token --sdk erp`"
    )


def test_wrong_master_key_gives_a_clear_error(engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    writer = LocalEncryptedStore(engine, master_key=fresh_key())
    writer.set(slug, "token", SECRET, sdk=SDK)
    reader = LocalEncryptedStore(engine, master_key=fresh_key())
    with pytest.raises(CredentialError) as err:
        reader.get(slug, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {slug!r} was encrypted with another master key (key id "
        f"{writer.master_key.key_id}; the current master key from ERP_MASTER_KEY has id "
        f"{reader.master_key.key_id}): set ERP_MASTER_KEY (or restore ERP_HOME/master.key) to the key it was "
        f"written with, or set it again with `printf %s VALUE | erp credentials set {slug} token --sdk erp`"
    )


# -- key derivation --------------------------------------------------------------------------------------
def test_each_tenant_has_its_own_derived_key() -> None:
    key = MasterKey(key=os.urandom(32), source="test")
    assert key.tenant_key("acme") != key.tenant_key("acme_two")
    assert key.tenant_key("acme") == key.tenant_key("acme")
    assert len(key.tenant_key("acme")) == 32
    assert key.key_id == master_key_id(key.key) and len(key.key_id) == 16
    assert repr(key) == f"MasterKey(key_id={key.key_id!r}, source='test')"


def test_master_key_repr_and_store_repr_hide_the_key(engine: Engine) -> None:
    configured = fresh_key()
    store = LocalEncryptedStore(engine, master_key=configured)
    shown = repr(store) + repr(store.master_key) + str(store.master_key)
    assert configured.get_secret_value() not in shown
    assert repr(store) == "LocalEncryptedStore(master_key_source='ERP_MASTER_KEY')"


# -- the key file ----------------------------------------------------------------------------------------
def test_key_file_is_created_with_mode_0600_on_first_use(engine: Engine, tmp_path: Path,
                                                         new_tenant: NewTenant) -> None:
    key_file = tmp_path / "home" / "master.key"
    store = LocalEncryptedStore(engine, key_file=key_file)
    assert not key_file.exists()  # nothing happens before the first use
    slug = new_tenant()
    store.set(slug, "token", SECRET, sdk=SDK)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(base64.urlsafe_b64decode(key_file.read_text().strip())) == 32
    again = LocalEncryptedStore(engine, key_file=key_file)  # a new process reuses the same file
    assert again.get(slug, "token", sdk=SDK) == SECRET
    assert [p.name for p in key_file.parent.iterdir()] == ["master.key"]  # no temp file left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    key_file.chmod(mode)
    with pytest.raises(ConfigurationError) as err:
        load_master_key(None, key_file)
    assert str(err.value) == (
        f"master key file {key_file} is accessible by group or others (mode {mode:03o}): restrict it to its "
        f"owner with `chmod 600 {key_file}`, then retry"
    )
    key_file.chmod(0o600)
    assert load_master_key(None, key_file).source == str(key_file)


@pytest.mark.parametrize("content", ["", "not base64 at all!", base64.urlsafe_b64encode(b"short").decode()])
def test_key_file_without_a_valid_key_is_refused(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(content)
    key_file.chmod(0o600)
    with pytest.raises(ConfigurationError) as err:
        load_master_key(None, key_file)
    assert str(err.value) == (
        f"key file {key_file} does not hold a urlsafe-base64 32-byte key: restore the key the credentials "
        "were encrypted with (a new key cannot decrypt them); a fresh key comes from: python -c \"import "
        'base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
    )


def test_configured_master_key_wins_over_the_key_file(tmp_path: Path) -> None:
    configured = fresh_key()
    key = load_master_key(configured, tmp_path / "master.key")
    assert key.source == "ERP_MASTER_KEY"
    assert key.key == base64.urlsafe_b64decode(configured.get_secret_value())
    assert not (tmp_path / "master.key").exists()


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    ids: list[str] = []
    errors: list[BaseException] = []

    def load() -> None:
        try:
            ids.append(load_master_key(None, key_file).key_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 8 and len(set(ids)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_store_needs_a_key_source(engine: Engine) -> None:
    with pytest.raises(CredentialError) as err:
        LocalEncryptedStore(engine)
    assert str(err.value) == (
        "LocalEncryptedStore needs a master key: pass master_key (ERP_MASTER_KEY) or key_file "
        "(ERP_HOME/master.key)"
    )
