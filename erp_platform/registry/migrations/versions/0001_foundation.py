"""foundation: control plane

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The control-plane schema: tenants with quota overrides, credentials metadata, the embedded credential
store's ciphertext, SDK versions, workflow definitions, mapping configs, control flags, and the
append-only audit log (enforced by triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("tenant_slug", sa.String(length=40), nullable=True),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=300), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="erp_control",
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"], unique=False, schema="erp_control")
    op.create_index(
        op.f("ix_audit_log_tenant_slug"), "audit_log", ["tenant_slug"], unique=False, schema="erp_control"
    )
    op.create_table(
        "local_secrets",
        sa.Column("store_path", sa.String(length=300), nullable=False),
        sa.Column("tenant_slug", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("store_path", name=op.f("pk_local_secrets")),
        schema="erp_control",
    )
    op.create_index(
        op.f("ix_local_secrets_tenant_slug"),
        "local_secrets",
        ["tenant_slug"],
        unique=False,
        schema="erp_control",
    )
    op.create_table(
        "system_control_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=True),
        sa.Column("flag_type", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(scope = 'global') = (scope_id IS NULL)", name=op.f("ck_system_control_flags_scope_id")
        ),
        sa.CheckConstraint(
            "flag_type IN ('pause', 'block', 'rate_limit')", name=op.f("ck_system_control_flags_flag_type")
        ),
        sa.CheckConstraint(
            "scope IN ('global', 'tenant', 'workflow', 'sdk')", name=op.f("ck_system_control_flags_scope")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_control_flags")),
        schema="erp_control",
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("schema_name", sa.String(length=63), nullable=False),
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.Column("max_concurrent_workflows", sa.Integer(), nullable=True),
        sa.Column("max_jobs_per_hour", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_jobs", sa.Integer(), nullable=True),
        sa.Column("max_storage_gb", sa.Integer(), nullable=True),
        sa.Column("max_api_calls_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_memory_mb", sa.Integer(), nullable=True),
        sa.Column("egress_private_allowlist", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'deleted')", name=op.f("ck_tenants_status")),
        sa.CheckConstraint("tier IN ('free', 'standard', 'enterprise')", name=op.f("ck_tenants_tier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
        schema="erp_control",
    )
    op.create_table(
        "mapping_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["erp_control.tenants.id"],
            name=op.f("fk_mapping_configs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_configs")),
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name=op.f("uq_mapping_configs_tenant_id_name_version")
        ),
        schema="erp_control",
    )
    op.create_table(
        "sdk_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("wasm_hash", sa.String(length=64), nullable=True),
        sa.Column("builder_version", sa.String(length=40), nullable=False),
        sa.Column("spec_ref", sa.String(length=500), nullable=True),
        sa.Column("code_ref", sa.String(length=500), nullable=True),
        sa.Column("facade_ref", sa.String(length=500), nullable=True),
        sa.Column("wasm_ref", sa.String(length=500), nullable=True),
        sa.Column("precompiled_ref", sa.String(length=500), nullable=True),
        sa.Column("sdk_spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("manifest", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("capabilities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("allowed_domains", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("operation_count", sa.Integer(), nullable=False),
        sa.Column("skipped_operations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("test_results", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("security_scan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('TESTING', 'ACTIVE', 'REVOKED', 'FAILED')", name=op.f("ck_sdk_versions_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["erp_control.tenants.id"],
            name=op.f("fk_sdk_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sdk_versions")),
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name=op.f("uq_sdk_versions_tenant_id_name_version")
        ),
        schema="erp_control",
    )
    op.create_table(
        "tenant_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("store", sa.String(length=20), nullable=False),
        sa.Column("store_path", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["erp_control.tenants.id"],
            name=op.f("fk_tenant_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_credentials")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_tenant_credentials_tenant_id_name")),
        schema="erp_control",
    )
    op.create_table(
        "workflow_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deprecated_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("force_cancel_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("required_sdk_version", sa.Integer(), nullable=True),
        sa.Column("required_capabilities", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('DRAFT', 'ACTIVE', 'DEPRECATED', 'RETIRED')",
            name=op.f("ck_workflow_definitions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["erp_control.tenants.id"],
            name=op.f("fk_workflow_definitions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_definitions")),
        sa.UniqueConstraint(
            "tenant_id",
            "workflow_id",
            "version",
            name=op.f("uq_workflow_definitions_tenant_id_workflow_id_version"),
        ),
        schema="erp_control",
    )

    op.create_index(
        "uq_system_control_flags_active",
        "system_control_flags",
        ["scope", sa.text("coalesce(scope_id, '')"), "flag_type"],
        unique=True,
        schema="erp_control",
        postgresql_where=sa.text("enabled"),
    )
    op.execute(
        """
        CREATE FUNCTION erp_control.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'erp_control.audit_log is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON erp_control.audit_log "
        "FOR EACH ROW EXECUTE FUNCTION erp_control.audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON erp_control.audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION erp_control.audit_log_append_only()"
    )
    op.execute("REVOKE ALL ON SCHEMA erp_control FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS erp_control.audit_log_append_only() CASCADE")
    op.drop_table("workflow_definitions", schema="erp_control")
    op.drop_table("tenant_credentials", schema="erp_control")
    op.drop_table("sdk_versions", schema="erp_control")
    op.drop_table("mapping_configs", schema="erp_control")
    op.drop_table("tenants", schema="erp_control")
    op.drop_table("system_control_flags", schema="erp_control")
    op.drop_index(op.f("ix_local_secrets_tenant_slug"), table_name="local_secrets", schema="erp_control")
    op.drop_table("local_secrets", schema="erp_control")
    op.drop_index(op.f("ix_audit_log_tenant_slug"), table_name="audit_log", schema="erp_control")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log", schema="erp_control")
    op.drop_table("audit_log", schema="erp_control")
