"""workflows: immutable versions, one ACTIVE version per workflow and per mapping

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Artifact versions are immutable once they leave DRAFT, and the database enforces it (not only the
service): a trigger on ``workflow_definitions`` and ``mapping_configs`` refuses an UPDATE that changes the
content (``definition`` / ``mapping``) or ``content_hash`` of a non-DRAFT row, that changes a row's tenant,
name or version, or that brings a RETIRED row back. Partial unique indexes allow one ACTIVE version per
workflow and per mapping. Mapping statuses are checked like workflow statuses.

Tests that simulate tampering disable the trigger explicitly (``ALTER TABLE ... DISABLE TRIGGER
workflow_definitions_immutable``, superuser only) to prove the content-hash check catches it anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION erp_control.artifact_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  content_column text := TG_ARGV[0];
  name_column text := TG_ARGV[1];
  o jsonb := to_jsonb(OLD);
  n jsonb := to_jsonb(NEW);
BEGIN
  IF (n -> 'tenant_id', n -> name_column, n -> 'version')
     IS DISTINCT FROM (o -> 'tenant_id', o -> name_column, o -> 'version') THEN
    RAISE EXCEPTION '%.%: the tenant, name and version of an artifact never change (row id %)',
      TG_TABLE_SCHEMA, TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF o ->> 'status' <> 'DRAFT'
     AND (n -> content_column, n -> 'content_hash')
         IS DISTINCT FROM (o -> content_column, o -> 'content_hash') THEN
    RAISE EXCEPTION
      '%.%: % version % is % and immutable: its % and content_hash cannot change; apply a new version',
      TG_TABLE_SCHEMA, TG_TABLE_NAME, o ->> name_column, o ->> 'version', o ->> 'status', content_column
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF o ->> 'status' = 'RETIRED' AND n ->> 'status' <> 'RETIRED' THEN
    RAISE EXCEPTION '%.%: % version % is RETIRED, which is final; apply a new version',
      TG_TABLE_SCHEMA, TG_TABLE_NAME, o ->> name_column, o ->> 'version'
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)
    op.execute(
        "CREATE TRIGGER workflow_definitions_immutable BEFORE UPDATE ON erp_control.workflow_definitions "
        "FOR EACH ROW EXECUTE FUNCTION erp_control.artifact_version_immutable('definition', 'workflow_id')"
    )
    op.execute(
        "CREATE TRIGGER mapping_configs_immutable BEFORE UPDATE ON erp_control.mapping_configs "
        "FOR EACH ROW EXECUTE FUNCTION erp_control.artifact_version_immutable('mapping', 'name')"
    )
    op.create_index(
        op.f("uq_workflow_definitions_one_active"),
        "workflow_definitions",
        ["tenant_id", "workflow_id"],
        unique=True,
        schema="erp_control",
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_index(
        op.f("uq_mapping_configs_one_active"),
        "mapping_configs",
        ["tenant_id", "name"],
        unique=True,
        schema="erp_control",
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_check_constraint(
        op.f("ck_mapping_configs_status"),
        "mapping_configs",
        "status IN ('DRAFT', 'ACTIVE', 'DEPRECATED', 'RETIRED')",
        schema="erp_control",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_mapping_configs_status"), "mapping_configs", schema="erp_control", type_="check"
    )
    op.drop_index("uq_mapping_configs_one_active", table_name="mapping_configs", schema="erp_control")
    op.drop_index(
        "uq_workflow_definitions_one_active", table_name="workflow_definitions", schema="erp_control"
    )
    op.execute("DROP TRIGGER IF EXISTS mapping_configs_immutable ON erp_control.mapping_configs")
    op.execute("DROP TRIGGER IF EXISTS workflow_definitions_immutable ON erp_control.workflow_definitions")
    op.execute("DROP FUNCTION IF EXISTS erp_control.artifact_version_immutable()")
