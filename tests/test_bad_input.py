"""Bad input gets a clear, exact message and creates nothing (slugs, tiers, secrets, settings)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from erp_platform import ConfigurationError, InvalidInputError
from erp_platform.config import load_settings
from erp_platform.tenancy import TenantService

SLUG_HELP = (
    "it must match ^[a-z][a-z0-9_]{2,39}$ (start with a lowercase letter, then 2 to 39 lowercase letters, "
    "digits or underscores)"
)

BAD_SLUGS = [
    ("quote", "acme'; --"),
    ("double quote", 'ac"me'),
    ("semicolon", "acme;drop"),
    ("space", "acme corp"),
    ("unicode", "acmé"),
    ("cyrillic lookalike", "аcme"),
    ("uppercase", "Acme"),
    ("leading digit", "1acme"),
    ("leading underscore", "_acme"),
    ("too short", "ab"),
    ("too long", "a" * 41),
    ("dash", "acme-corp"),
    ("dot", "acme.corp"),
    ("slash", "acme/../b"),
    ("empty", ""),
    ("newline", "acme\nx"),
]


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


@pytest.mark.parametrize(("label", "slug"), BAD_SLUGS, ids=[b[0] for b in BAD_SLUGS])
def test_bad_slug_is_refused_and_nothing_created(
    engine: Engine, tenants: TenantService, label: str, slug: str
) -> None:
    before = (
        _count(engine, "SELECT count(*) FROM erp_control.tenants"),
        _count(engine, "SELECT count(*) FROM pg_namespace"),
        _count(engine, "SELECT count(*) FROM pg_roles"),
        _count(engine, "SELECT count(*) FROM erp_control.audit_log"),
    )
    with pytest.raises(InvalidInputError) as info:
        tenants.create(slug, "free")
    assert str(info.value) == f"tenant slug {slug!r} is invalid: {SLUG_HELP}"
    after = (
        _count(engine, "SELECT count(*) FROM erp_control.tenants"),
        _count(engine, "SELECT count(*) FROM pg_namespace"),
        _count(engine, "SELECT count(*) FROM pg_roles"),
        _count(engine, "SELECT count(*) FROM erp_control.audit_log"),
    )
    assert after == before


@pytest.mark.parametrize("tier", ["gold", "FREE", "", "free ", "enterprise;"])
def test_unknown_tier_is_refused_and_nothing_created(
    engine: Engine, tenants: TenantService, tier: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        tenants.create("bad_tier_probe", tier)
    assert str(info.value) == f"unknown tier {tier!r}: use one of free, standard, enterprise"
    assert _count(engine, "SELECT count(*) FROM erp_control.tenants WHERE slug = 'bad_tier_probe'") == 0
    assert _count(engine, "SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_bad_tier_probe'") == 0


def test_empty_secret_is_refused_and_nothing_stored(engine: Engine, tenants: TenantService) -> None:
    from erp_platform.credentials import LocalEncryptedStore
    from erp_platform.credentials._master_key import MasterKey  # noqa: F401  (import check)

    tenants.create("bad_secret_probe", "free")
    store = LocalEncryptedStore(
        engine, master_key=load_settings(master_key="q2ULqZ8tTn6yqWwR2cYJHkq4ErC7xB1pUOK6oxv0M1U=").master_key
    )
    with pytest.raises(InvalidInputError) as info:
        store.set("bad_secret_probe", "token", "", sdk="mock_erp")
    assert str(info.value) == (
        "secret for credential 'token' of SDK 'mock_erp' of tenant 'bad_secret_probe' is empty: pass a non-empty "
        "secret value (the token, password or key itself)"
    )
    assert store.list("bad_secret_probe") == []
    assert (
        _count(
            engine, "SELECT count(*) FROM erp_control.local_secrets WHERE tenant_slug = 'bad_secret_probe'"
        )
        == 0
    )


KEYGEN = 'generate one with: python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
BAD_SETTINGS = [
    (
        {"ERP_DATABASE_URL": "mysql://root@localhost/erp"},
        "invalid setting: ERP_DATABASE_URL: scheme 'mysql' is not PostgreSQL; use postgresql://user@host:5432/dbname, "
        "or unset it to use the embedded server",
    ),
    (
        {"ERP_OBJECT_STORE_URL": "ftp://files/erp"},
        "invalid setting: ERP_OBJECT_STORE_URL: scheme 'ftp' is not supported; use file:///path or s3://bucket/prefix",
    ),
    (
        {"ERP_OBJECT_STORE_URL": "s3:///no-bucket"},
        "invalid setting: ERP_OBJECT_STORE_URL: s3:// URL has no bucket; use s3://bucket/optional/prefix",
    ),
    ({"ERP_MASTER_KEY": "not-a-key!"}, f"invalid setting: ERP_MASTER_KEY: not urlsafe base64; {KEYGEN}"),
    (
        {"ERP_MASTER_KEY": "c2hvcnQ="},
        f"invalid setting: ERP_MASTER_KEY: decodes to 5 bytes, 32 are needed; {KEYGEN}",
    ),
    (
        {"ERP_VAULT_ADDR": "vault:8200", "ERP_VAULT_TOKEN": "s.token-never-shown"},
        "invalid setting: ERP_VAULT_ADDR: not an http(s) URL; use e.g. https://vault.example.com:8200",
    ),
    (
        {"ERP_VAULT_ADDR": "https://vault.example.com:8200"},
        "ERP_VAULT_TOKEN is not set but ERP_VAULT_ADDR is: set ERP_VAULT_TOKEN to a Vault token allowed to read "
        "and write the KV v2 mount, or unset ERP_VAULT_ADDR to use the local encrypted credential store",
    ),
    (
        {"ERP_S3_ENDPOINT_URL": "minio:9000"},
        "invalid setting: ERP_S3_ENDPOINT_URL: not an http(s) URL; use e.g. http://127.0.0.1:9000",
    ),
    (
        {"ERP_LOG_LEVEL": "chatty"},
        "invalid setting: ERP_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR",
    ),
    (
        {"ERP_PROCESS_MODE": "k8s"},
        "invalid setting: ERP_PROCESS_MODE: 'k8s' is not a process mode; use forkserver (one machine, the default) "
        "or stock (Dagster's DefaultRunLauncher and one gRPC code server per tenant over TCP)",
    ),
    (
        {"ERP_CODE_SERVER_HOST": "workers;rm -rf"},
        "invalid setting: ERP_CODE_SERVER_HOST: 'workers;rm -rf' is not a host name or IP address; use e.g. "
        "127.0.0.1, 0.0.0.0 or workers",
    ),
    (
        {"ERP_CODE_SERVER_ADDRESS": "http://workers"},
        "invalid setting: ERP_CODE_SERVER_ADDRESS: 'http://workers' is not a host name or IP address; use e.g. "
        "127.0.0.1, 0.0.0.0 or workers",
    ),
    (
        {"ERP_CODE_SERVER_PORT_BASE": "80"},
        "invalid setting: ERP_CODE_SERVER_PORT_BASE: '80' is not a port from 1024 to 65000; tenant code servers "
        "listen on this base plus the tenant's id, e.g. ERP_CODE_SERVER_PORT_BASE=4000",
    ),
    ({"ERP_SPEC_MAX_NODES": "0"}, "invalid setting: ERP_SPEC_MAX_NODES: Input should be greater than 0"),
    ({"ERP_SPEC_MAX_BYTES": "64MB"},
     "invalid setting: ERP_SPEC_MAX_BYTES: Input should be a valid integer, unable to parse string as an integer"),
    ({"ERP_SPEC_PARSE_TIMEOUT_SECONDS": "-5"},
     "invalid setting: ERP_SPEC_PARSE_TIMEOUT_SECONDS: Input should be greater than 0"),
    ({"ERP_RATE_LIMIT_LEASE_SECONDS": "30"},
     "invalid setting: ERP_RATE_LIMIT_LEASE_SECONDS: Input should be less than or equal to 5"),
    ({"ERP_PAGE_WORKERS_AFTER_PAGES": "0"},
     "invalid setting: ERP_PAGE_WORKERS_AFTER_PAGES: Input should be greater than or equal to 1"),
    ({"ERP_PAGE_WORKERS": "sometimes"},
     "invalid setting: ERP_PAGE_WORKERS: Input should be a valid boolean, unable to interpret input"),
]


@pytest.mark.parametrize(
    ("env", "message"), BAD_SETTINGS, ids=[next(iter(e)) + str(i) for i, (e, _) in enumerate(BAD_SETTINGS)]
)
def test_bad_setting_fails_at_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert str(info.value) == message
    assert "s.token-never-shown" not in str(info.value)


def test_bad_setting_through_the_cli_creates_nothing(erp_home: object, pg_url: str) -> None:
    from tests.support.cli import ErpCli

    cli = ErpCli(database_url="mysql://root@localhost/erp", home=erp_home)  # type: ignore[arg-type]
    result = cli("tenant", "create", "never_made", "--tier", "free")
    assert result.code == 2
    assert result.stderr.strip() == "error: " + BAD_SETTINGS[0][1]
    assert "Traceback" not in result.stderr
