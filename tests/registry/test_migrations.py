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
