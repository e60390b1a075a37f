"""One contract, two backends: every test here runs against the local encrypted store and Vault KV v2."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, insert, select, text, update

from erp_platform._errors import (
    CredentialError,
    ErpPlatformError,
    InvalidInputError,
    NotFoundError,
    TenantIsolationError,
)
from erp_platform.credentials import (
    CredentialInfo,
    CredentialStore,
    LocalEncryptedStore,
    VaultStore,
    vault_policy,
)
from erp_platform.credentials._store import CredentialRef
from erp_platform.registry import AuditEntry, Tenant, TenantCredential
from erp_platform.tenancy import TenantService
from tests.support.vault_server import VaultTestServer

SDK = "erp"
SECRET = "s3cr3t-Value-for-Tests-0001"
OTHER = "0ther-Tenant-Secret-0002"
NewTenant = Callable[..., str]


def audit_rows(engine: Engine, slug: str) -> list[AuditEntry]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry).where(AuditEntry.tenant_slug == slug).order_by(AuditEntry.id))
        return list(rows.all())


def audit_actions(engine: Engine, slug: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    return [(r.action, r.target_id, r.details) for r in audit_rows(engine, slug)
            if r.action.startswith("credential.")]


def metadata_rows(engine: Engine, slug: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(
            select(TenantCredential.name, TenantCredential.version, TenantCredential.store_path)
            .join(Tenant, Tenant.id == TenantCredential.tenant_id).where(Tenant.slug == slug)
        ).all())


# -- the basic life cycle -----------------------------------------------------------------------------
def test_set_get_list_rotate_delete(store: CredentialStore, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    info = store.set(slug, "erp_api_token", SECRET, sdk=SDK)
    assert (info.tenant, info.name, info.store, info.version) == (slug, "erp_api_token", store.store_name, 1)
    assert info.store_path == f"erp/tenants/{slug}/sdks/erp/erp_api_token"
    assert info.created_at == info.rotated_at
    assert store.get(slug, "erp_api_token", sdk=SDK) == SECRET

    rotated = store.rotate(slug, "erp_api_token", "rotated-value", sdk=SDK)
    assert rotated.version == 2
    assert rotated.created_at == info.created_at
    assert rotated.rotated_at > info.rotated_at
    assert store.get(slug, "erp_api_token", sdk=SDK) == "rotated-value"

    store.set(slug, "basic_user", "alice", sdk=SDK)
    assert [(c.name, c.version) for c in store.list(slug)] == [("basic_user", 1), ("erp_api_token", 2)]

    store.delete(slug, "erp_api_token", sdk=SDK)
    assert [c.name for c in store.list(slug)] == ["basic_user"]
    with pytest.raises(NotFoundError) as err:
        store.get(slug, "erp_api_token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'erp_api_token' of SDK 'erp' of tenant {slug!r} does not exist: create it with `printf %s VALUE "
        f"| erp credentials set {slug} erp_api_token --sdk erp`; list existing ones with `erp credentials list {slug}`"
    )


def test_set_replaces_and_bumps_version(store: CredentialStore, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    first = store.set(slug, "token", "v1", sdk=SDK)
    second = store.set(slug, "token", "v2", sdk=SDK)
    assert (second.version, second.created_at) == (2, first.created_at)
    assert second.rotated_at > first.rotated_at
    assert store.get(slug, "token", sdk=SDK) == "v2"


def test_rotate_and_delete_need_an_existing_credential(store: CredentialStore,
                                                       new_tenant: NewTenant) -> None:
    slug = new_tenant()
    expected = (
        f"credential 'missing' of SDK 'erp' of tenant {slug!r} does not exist: create it with `printf %s VALUE | "
        f"erp credentials set {slug} missing --sdk erp`; list existing ones with `erp credentials list {slug}`"
    )
    with pytest.raises(NotFoundError) as err:
        store.rotate(slug, "missing", "value", sdk=SDK)
    assert str(err.value) == expected
    with pytest.raises(NotFoundError) as err:
        store.delete(slug, "missing", sdk=SDK)
    assert str(err.value) == expected
    assert metadata_rows(store._engine, slug) == []


def test_list_of_a_tenant_without_credentials_is_empty(store: CredentialStore,
                                                       new_tenant: NewTenant) -> None:
    assert store.list(new_tenant()) == []


# -- tenants --------------------------------------------------------------------------------------------
def test_tenant_must_exist_and_not_be_deleted(store: CredentialStore, new_tenant: NewTenant,
                                              tenants: TenantService) -> None:
    def expected(slug: str) -> str:
        return (f"tenant {slug!r} does not exist or is deleted: credentials need an active or suspended "
                "tenant; list tenants with `erp tenant list`")

    for call in (lambda s: store.set(s, "token", SECRET, sdk=SDK), lambda s: store.get(s, "token", sdk=SDK),
                 lambda s: store.list(s), lambda s: store.rotate(s, "token", SECRET, sdk=SDK),
                 lambda s: store.delete(s, "token", sdk=SDK)):
        with pytest.raises(NotFoundError) as err:
            call("no_such_tenant")
        assert str(err.value) == expected("no_such_tenant")

    slug = new_tenant()
    store.set(slug, "token", SECRET, sdk=SDK)
    tenants.delete(slug)  # soft delete: the row stays with status 'deleted'
    with pytest.raises(NotFoundError) as err:
        store.get(slug, "token", sdk=SDK)
    assert str(err.value) == expected(slug)


def test_suspended_tenant_keeps_its_credentials(store: CredentialStore, new_tenant: NewTenant,
                                                tenants: TenantService) -> None:
    slug = new_tenant()
    store.set(slug, "token", SECRET, sdk=SDK)
    tenants.set_status(slug, "suspended")
    assert store.get(slug, "token", sdk=SDK) == SECRET
    assert store.rotate(slug, "token", "next", sdk=SDK).version == 2


# -- validation (store-independent messages, checked before any access) -----------------------------------
def test_empty_secret_is_refused_with_the_exact_message(store: CredentialStore,
                                                        new_tenant: NewTenant) -> None:
    slug = new_tenant()
    with pytest.raises(InvalidInputError) as err:
        store.set(slug, "token", "", sdk=SDK)
    assert str(err.value) == (
        f"secret for credential 'token' of SDK 'erp' of tenant {slug!r} is empty: pass a non-empty secret value "
        "(the token, password or key itself)"
    )
    assert metadata_rows(store._engine, slug) == []


@pytest.mark.parametrize(("name", "secret", "message"), [
    ("Token", SECRET, "credential name 'Token' is invalid: it must match ^[a-z][a-z0-9_]{0,62}$ (a lowercase "
                      "letter, then up to 62 lowercase letters, digits or underscores), e.g. erp_api_token"),
    ("token", "a\x00b", "secret for credential 'token' of SDK 'erp' of tenant 'acme' contains the control character "
                        "U+0000 (at position 2 of 3): control characters (CR, LF, NUL, ESC, ...) are refused, since "
                        "they would inject HTTP headers or terminal escapes. Pass the value without them (`printf %s "
                        "VALUE`, not `echo`)"),
    ("token", "x" * (64 * 1024 + 1),
     "secret for credential 'token' of SDK 'erp' of tenant 'acme' is 65537 bytes: at most 65536 bytes (64 KiB) "
     "are allowed; store a shorter value"),
])
def test_bad_input_is_refused_before_any_access(store: CredentialStore, name: str, secret: str,
                                                message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        store.set("acme", name, secret, sdk=SDK)  # 'acme' need not exist: validation comes first
    assert str(err.value) == message


def test_bad_slug_is_refused(store: CredentialStore) -> None:
    with pytest.raises(InvalidInputError) as err:
        store.get("../other", "token", sdk=SDK)
    assert str(err.value) == (
        "tenant slug '../other' is invalid: it must match ^[a-z][a-z0-9_]{2,39}$ (start with a lowercase "
        "letter, then 2 to 39 lowercase letters, digits or underscores)"
    )


# -- isolation ------------------------------------------------------------------------------------------
def test_tenants_with_the_same_credential_name_see_only_their_own(store: CredentialStore,
                                                                  new_tenant: NewTenant) -> None:
    a, b = new_tenant("iso"), new_tenant("iso")
    store.set(a, "token", SECRET, sdk=SDK)
    store.set(b, "token", OTHER, sdk=SDK)
    assert store.get(a, "token", sdk=SDK) == SECRET
    assert store.get(b, "token", sdk=SDK) == OTHER
    store.delete(b, "token", sdk=SDK)
    assert store.get(a, "token", sdk=SDK) == SECRET
    with pytest.raises(NotFoundError):
        store.get(b, "token", sdk=SDK)


def test_a_slug_that_prefixes_another_cannot_reach_it(store: CredentialStore,
                                                      new_tenant: NewTenant,
                                                      tenants: TenantService) -> None:
    a = new_tenant("pfx")
    b = f"{a}_two"
    tenants.create(b, "free")
    store.set(b, "token", OTHER, sdk=SDK)
    assert store.list(a) == []
    assert store.purge_tenant(a) == 0
    assert store.get(b, "token", sdk=SDK) == OTHER


def test_purge_treats_underscores_in_slugs_literally(store: CredentialStore, tenants: TenantService,
                                                    new_tenant: NewTenant) -> None:
    a = new_tenant("wild")  # e.g. wild_1a2b3c4d: '_' is a LIKE wildcard, which must not match 'x'
    b = a.replace("_", "x", 1)
    tenants.create(b, "free")
    store.set(b, "token", OTHER, sdk=SDK)
    store.set(a, "token", SECRET, sdk=SDK)
    assert store.purge_tenant(a) == 1
    assert store.get(b, "token", sdk=SDK) == OTHER


def test_metadata_row_pointing_at_another_tenant_is_refused(store: CredentialStore, engine: Engine,
                                                            new_tenant: NewTenant) -> None:
    a, b = new_tenant("tamper"), new_tenant("tamper")
    store.set(a, "token", SECRET, sdk=SDK)
    store.set(b, "token", OTHER, sdk=SDK)
    with engine.begin() as conn:  # an attacker with table access re-points A's row at B's secret
        conn.execute(update(TenantCredential)
                     .where(TenantCredential.store_path == f"erp/tenants/{a}/sdks/erp/token")
                     .values(store_path=f"erp/tenants/{b}/sdks/erp/token"))
    with pytest.raises(TenantIsolationError) as err:
        store.get(a, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {a!r}: its metadata row points at "
        f"'erp/tenants/{b}/sdks/erp/token' instead of "
        f"'erp/tenants/{a}/sdks/erp/token' (the row was altered outside the platform); refusing to read it. Set the "
        f"credential again with `printf %s VALUE | erp credentials set {a} token --sdk erp`"
    )
    assert OTHER not in str(err.value)


def test_row_moved_to_another_tenant_is_refused(store: CredentialStore, engine: Engine,
                                                new_tenant: NewTenant) -> None:
    a, b = new_tenant("moved"), new_tenant("moved")
    store.set(b, "b_only", OTHER, sdk=SDK)
    with engine.begin() as conn:  # B's metadata row handed to A
        a_id = conn.execute(select(Tenant.id).where(Tenant.slug == a)).scalar_one()
        conn.execute(update(TenantCredential).where(TenantCredential.store_path == f"erp/tenants/{b}/sdks/erp/b_only")
                     .values(tenant_id=a_id))
    with pytest.raises(TenantIsolationError) as err:
        store.get(a, "b_only", sdk=SDK)
    assert OTHER not in str(err.value)


def test_purge_removes_one_tenant_and_keeps_the_others(store: CredentialStore, engine: Engine,
                                                       new_tenant: NewTenant) -> None:
    a, b = new_tenant("purge"), new_tenant("purge")
    store.set(a, "one", SECRET, sdk=SDK)
    store.set(a, "two", SECRET, sdk=SDK)
    store.set(b, "one", OTHER, sdk=SDK)
    service = TenantService(engine, purge_hooks=[store.purge_tenant])
    service.delete(a, purge=True)  # drops the tenant row, then calls the hook
    assert metadata_rows(engine, a) == []
    assert store.purge_tenant(a) == 0  # idempotent: nothing left in the backend
    assert store.get(b, "one", sdk=SDK) == OTHER
    assert audit_actions(engine, a)[-1] == ("credential.purge", None,
                                            {"store": store.store_name, "removed": 0})
    purges = [d for (action, _, d) in audit_actions(engine, a) if action == "credential.purge"]
    assert purges[0] == {"store": store.store_name, "removed": 2}


# -- audit ----------------------------------------------------------------------------------------------
def test_every_access_is_audited_without_the_value(store: CredentialStore, engine: Engine,
                                                   new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store.set(slug, "token", SECRET, sdk=SDK)
    store.get(slug, "token", sdk=SDK)
    store.list(slug)
    store.rotate(slug, "token", OTHER, sdk=SDK)
    store.delete(slug, "token", sdk=SDK)
    s = store.store_name
    assert audit_actions(engine, slug) == [
        ("credential.set", "token", {"sdk": SDK, "store": s, "version": 1, "replaced": False}),
        ("credential.get", "token", {"sdk": SDK, "store": s, "version": 1}),
        ("credential.list", None, {"count": 1, "sdk": None}),
        ("credential.rotate", "token", {"sdk": SDK, "store": s, "version": 2}),
        ("credential.delete", "token", {"sdk": SDK, "store": s, "version": 2}),
    ]
    with engine.connect() as conn:
        dump = conn.execute(text("SELECT string_agg(details::text || coalesce(target_id, ''), ' ') "
                                 "FROM erp_control.audit_log")).scalar_one()
    assert SECRET not in dump and OTHER not in dump


def test_failed_access_is_audited(store: CredentialStore, engine: Engine, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    with pytest.raises(NotFoundError):
        store.get(slug, "token", sdk=SDK)
    assert audit_actions(engine, slug) == [
        ("credential.get", "token",
         {"store": store.store_name, "outcome": "failed", "error": "NotFoundError", "sdk": SDK}),
    ]


def broken_store(kind: str, engine: Engine, vault: VaultTestServer, tmp_path: Path) -> CredentialStore:
    """A store whose backend write fails: a key file open to others, or a Vault token for another tenant."""
    if kind == "local":
        key_file = tmp_path / "master.key"
        key_file.write_text("A" * 43 + "=\n")
        key_file.chmod(0o644)
        return LocalEncryptedStore(engine, key_file=key_file)
    token = vault.create_token(vault_policy("somebody_else"))
    return VaultStore(engine, addr=vault.url, token=SecretStr(token))


@pytest.mark.parametrize("kind", ["local", "vault"])
def test_failed_backend_write_leaves_no_metadata(kind: str, engine: Engine, vault_server: VaultTestServer,
                                                 tmp_path: Path, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store = broken_store(kind, engine, vault_server, tmp_path)
    with pytest.raises(ErpPlatformError):
        store.set(slug, "token", SECRET, sdk=SDK)
    assert metadata_rows(engine, slug) == []
    [(action, name, details)] = audit_actions(engine, slug)
    assert (action, name, details["outcome"]) == ("credential.set", "token", "failed")


# -- no value anywhere --------------------------------------------------------------------------------------
def test_no_value_in_logs_errors_or_reprs(store: CredentialStore, new_tenant: NewTenant,
                                          caplog: pytest.LogCaptureFixture) -> None:
    slug = new_tenant()
    caplog.set_level(logging.DEBUG)
    info = store.set(slug, "token", SECRET, sdk=SDK)
    store.get(slug, "token", sdk=SDK)
    errors: list[str] = []
    for bad in (lambda: store.set(slug, "Bad Name", SECRET, sdk=SDK),
                lambda: store.rotate(slug, "nope", SECRET, sdk=SDK),
                lambda: store.set(slug, "token", SECRET + "\x00", sdk=SDK),
                lambda: store.set(slug, "token", SECRET * 3000, sdk=SDK)):
        with pytest.raises(ErpPlatformError) as err:
            bad()
        errors.append(repr(err.value) + str(err.value))
    shown = " ".join([caplog.text, repr(store), repr(info), str(info), info.model_dump_json(), *errors])
    assert "credential set" in caplog.text
    assert SECRET not in shown


def test_credential_info_cannot_carry_a_value(store: CredentialStore, new_tenant: NewTenant) -> None:
    info = store.set(new_tenant(), "token", SECRET, sdk=SDK)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        CredentialInfo(**info.model_dump(), secret=SECRET)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="frozen"):
        info.version = 9  # type: ignore[misc]


# -- concurrency and helpers ------------------------------------------------------------------------------
def test_concurrent_sets_each_bump_the_version(store: CredentialStore, new_tenant: NewTenant) -> None:
    slug = new_tenant()
    failures: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            store.set(slug, "token", f"value-{i}", sdk=SDK)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    [info] = store.list(slug)
    assert info.version == 4
    assert store.get(slug, "token", sdk=SDK) in {f"value-{i}" for i in range(4)}


def test_secret_provider_is_bound_to_one_tenant(store: CredentialStore, new_tenant: NewTenant) -> None:
    a, b = new_tenant(), new_tenant()
    store.set(a, "token", SECRET, sdk=SDK)
    store.set(b, "token", OTHER, sdk=SDK)
    provide = store.secret_provider(a, SDK)
    assert provide("token") == SECRET
    with pytest.raises(NotFoundError):
        provide("other")


def test_a_credential_of_the_other_backend_is_not_read(store: CredentialStore, engine: Engine,
                                                       new_tenant: NewTenant) -> None:
    slug = new_tenant()
    store.set(slug, "token", SECRET, sdk=SDK)
    other = "vault" if store.store_name == "local" else "local"
    with engine.begin() as conn:
        conn.execute(update(TenantCredential)
                     .where(TenantCredential.store_path == f"erp/tenants/{slug}/sdks/erp/token")
                     .values(store=other))
    with pytest.raises(CredentialError) as err:
        store.get(slug, "token", sdk=SDK)
    assert str(err.value) == (
        f"credential 'token' of SDK 'erp' of tenant {slug!r} is kept in the {other!r} store, but this "
        "platform uses the "
        f"{store.store_name!r} store: configure the {other!r} store again (ERP_VAULT_ADDR), or set the "
        f"credential again with `printf %s VALUE | erp credentials set {slug} token --sdk erp`"
    )


# -- credentials bound to an SDK ------------------------------------------------------------------------
def test_a_credential_set_for_one_sdk_is_never_read_for_another(store: CredentialStore, engine: Engine,
                                                                new_tenant: NewTenant) -> None:
    slug = new_tenant("scope")
    store.set(slug, "token", SECRET, sdk="billing")
    store.set(slug, "api_key", OTHER, sdk="billing")
    assert store.get(slug, "token", sdk="billing") == SECRET
    intruder = store.secret_provider(slug, "crm")  # an SDK whose spec merely names the same headers
    for name in ("token", "api_key"):
        with pytest.raises(NotFoundError) as err:
            intruder(name)
        assert str(err.value) == (
            f"credential {name!r} of SDK 'crm' of tenant {slug!r} does not exist: create it with `printf %s VALUE | "
            f"erp credentials set {slug} {name} --sdk crm`; list existing ones with `erp credentials list {slug}`"
        )
        assert SECRET not in str(err.value) and OTHER not in str(err.value)
    assert [(c.sdk, c.name) for c in store.list(slug)] == [("billing", "api_key"), ("billing", "token")]
    assert store.list(slug, sdk="crm") == []
    store.set(slug, "token", "crm-own-token", sdk="crm")
    assert store.get(slug, "token", sdk="crm") == "crm-own-token"
    assert store.get(slug, "token", sdk="billing") == SECRET
    store.delete(slug, "token", sdk="crm")
    assert store.get(slug, "token", sdk="billing") == SECRET
    assert {r.store_path for r in metadata_rows(engine, slug)} == {
        f"erp/tenants/{slug}/sdks/billing/token", f"erp/tenants/{slug}/sdks/billing/api_key"}


def test_grant_copies_a_credential_to_another_sdk_and_is_audited(store: CredentialStore, engine: Engine,
                                                                 new_tenant: NewTenant) -> None:
    slug = new_tenant("grant")
    store.set(slug, "token", SECRET, sdk="billing")
    info = store.grant(slug, "token", sdk="crm", from_sdk="billing")
    assert (info.sdk, info.name, info.version) == ("crm", "token", 1)
    assert store.get(slug, "token", sdk="crm") == SECRET
    store.rotate(slug, "token", OTHER, sdk="billing")  # a copy: later changes of the source do not follow
    assert store.get(slug, "token", sdk="crm") == SECRET
    grants = [(t, d) for (a, t, d) in audit_actions(engine, slug) if a == "credential.grant"]
    assert grants == [("token", {"sdk": "crm", "from_sdk": "billing", "from_version": 1,
                                 "store": store.store_name, "version": 1})]
    with pytest.raises(InvalidInputError, match="cannot be granted to itself"):
        store.grant(slug, "token", sdk="crm", from_sdk="crm")
    with pytest.raises(NotFoundError, match="tenant-wide credential 'token' of tenant"):
        store.grant(slug, "token", sdk="crm")


def test_another_tenant_cannot_grant_itself_a_credential(store: CredentialStore, new_tenant: NewTenant) -> None:
    a, b = new_tenant("grant"), new_tenant("grant")
    store.set(a, "token", SECRET, sdk="billing")
    with pytest.raises(NotFoundError) as err:
        store.grant(b, "token", sdk="crm", from_sdk="billing")  # B names A's SDK: it reads only its own
    assert SECRET not in str(err.value)
    with pytest.raises(NotFoundError):
        store.get(b, "token", sdk="billing")


def test_tenant_wide_credentials_are_listed_granted_and_deleted(store: CredentialStore, engine: Engine,
                                                                new_tenant: NewTenant) -> None:
    slug = new_tenant("legacy")
    store.set(slug, "token", SECRET, sdk="billing")
    legacy = CredentialRef.of(slug, "token", None)  # stored before credentials were bound to SDKs
    with engine.begin() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.slug == slug)).scalar_one()
        conn.execute(insert(TenantCredential).values(tenant_id=tenant_id, sdk="", name="token",
                                                     store=store.store_name, store_path=legacy.path, version=1))
        store._write(conn, legacy, OTHER)
    [wide] = [c for c in store.list(slug) if c.sdk is None]
    assert (wide.name, wide.store_path) == ("token", f"erp/tenants/{slug}/token")
    with pytest.raises(NotFoundError):
        store.get(slug, "token", sdk="crm")  # no SDK reads it
    store.grant(slug, "token", sdk="crm")
    assert store.get(slug, "token", sdk="crm") == OTHER
    store.delete(slug, "token", sdk=None)
    assert [(c.sdk, c.name) for c in store.list(slug)] == [("billing", "token"), ("crm", "token")]
    assert store.get(slug, "token", sdk="billing") == SECRET


@pytest.mark.parametrize("sdk", ["../other", "Billing", "", "a/b"])
def test_a_bad_sdk_name_is_refused(store: CredentialStore, sdk: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        store.set("acme", "token", SECRET, sdk=sdk)
    assert str(err.value) == (
        f"SDK name {sdk!r} is invalid: credentials are bound to an SDK named like 'mock_erp' (a lowercase letter, "
        "then up to 62 lowercase letters, digits or underscores); list SDKs with `erp sdk list TENANT`"
    )
