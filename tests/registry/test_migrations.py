"""The control-plane migrations create exactly what the models describe, and ``erp init`` is idempotent."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from erp_platform.registry import CONTROL_SCHEMA, Base, current_revision, head_revision, migrate


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _parent: type_ != "schema" or name == CONTROL_SCHEMA,
                "compare_type": True,
                "version_table_schema": CONTROL_SCHEMA,
            },
        )
        diff = [d for d in compare_metadata(ctx, Base.metadata) if "alembic_version" not in repr(d)]
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    before, after = migrate(engine)
    assert before == after == head_revision()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE erp_control.audit_log SET actor = 'x'",
        "DELETE FROM erp_control.audit_log",
        "TRUNCATE erp_control.audit_log",
    ],
)
def test_audit_log_is_append_only_in_the_database(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO erp_control.audit_log (actor, action, target_type, details) "
                "VALUES ('test', 'probe', 'test', '{}')"
            )
        )
    with pytest.raises(DBAPIError, match=r"erp_control\.audit_log is append-only"), engine.begin() as conn:
        conn.execute(text(sql))
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM erp_control.audit_log WHERE action = 'probe'")).scalar()
            >= 1
        )


def test_credential_scope_migration_keeps_older_credentials_tenant_wide_and_unread() -> None:
    """0005: a credential stored before credentials were bound to SDKs keeps sdk = '' (no SDK reads it);
    downgrading drops only the rows bound to an SDK."""
    from alembic import command

    from erp_platform.db import make_engine
    from erp_platform.registry._migrate import _config
    from tests.support.database import fresh_database

    with fresh_database() as url:
        eng = make_engine(url, application_name="erp-tests-migration")
        try:
            cfg = _config()
            with eng.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "0004_assistant")
                conn.execute(text(
                    "INSERT INTO erp_control.tenants (slug, name, tier, status, schema_name, role_name, "
                    "max_concurrent_jobs, max_jobs_per_hour, max_api_calls_per_minute, max_storage_gb, "
                    "max_concurrent_workflows, egress_private_allowlist) SELECT 'legacy', 'legacy', 'free', "
                    "'active', 'tenant_legacy', 'tenant_legacy', 1, 1, 1, 1, 1, '[]'::jsonb"
                ))
                conn.execute(text(
                    "INSERT INTO erp_control.tenant_credentials (tenant_id, name, store, store_path, version) "
                    "SELECT id, 'token', 'local', 'erp/tenants/legacy/token', 1 FROM erp_control.tenants"
                ))
            before, after = migrate(eng)
            assert (before, after) == ("0004_assistant", "0005_credential_scope")
            with eng.begin() as conn:
                assert conn.execute(text("SELECT sdk, name FROM erp_control.tenant_credentials")).all() == [
                    ("", "token")]
                conn.execute(text(
                    "INSERT INTO erp_control.tenant_credentials (tenant_id, sdk, name, store, store_path, version) "
                    "SELECT id, 'mock_erp', 'token', 'local', 'erp/tenants/legacy/sdks/mock_erp/token', 1 "
                    "FROM erp_control.tenants"
                ))
            with eng.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0004_assistant")
                assert conn.execute(text("SELECT name, store_path FROM erp_control.tenant_credentials")).all() == [
                    ("token", "erp/tenants/legacy/token")]
        finally:
            eng.dispose()
