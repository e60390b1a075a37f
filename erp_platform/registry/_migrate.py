"""Create or upgrade the control-plane schema (idempotent): ``erp init``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from erp_platform.registry._models import CONTROL_SCHEMA

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x45525030  # advisory lock: one migrator at a time


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when the schema was never created."""
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT to_regclass(:t)"), {"t": f"{CONTROL_SCHEMA}.alembic_version"}
        ).scalar()
        if exists is None:
            return None
        ctx = MigrationContext.configure(conn, opts={"version_table_schema": CONTROL_SCHEMA})
        return ctx.get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Upgrade ``erp_control`` to the newest revision; returns (revision before, revision after)."""
    before = current_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()
