"""Alembic environment: migrations run on a connection handed in by :func:`erp_platform.registry.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from erp_platform.registry._models import CONTROL_SCHEMA, Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always run through erp_platform.registry.migrate
    raise RuntimeError("run migrations with `erp init` (erp_platform.registry.migrate), not the alembic CLI")

connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{CONTROL_SCHEMA}"'))
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=CONTROL_SCHEMA,
    include_schemas=False,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
