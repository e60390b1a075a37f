"""orchestration and run queue: extract checkpoints, sync cursors, SDK request log, token buckets, refusals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "erp_control"


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "extract_checkpoints",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(f"{S}.tenants.id", ondelete="CASCADE",
                                                           name="fk_extract_checkpoints_tenant_id_tenants"),
                  nullable=False),
        sa.Column("root_run_id", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(63), nullable=False),
        sa.Column("activity_id", sa.String(63), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("records_done", sa.BigInteger(), nullable=False),
        sa.Column("next_token", sa.Text(), nullable=True),
        sa.Column("part_keys", postgresql.JSONB(), nullable=False),
        sa.Column("cursor_max", sa.String(64), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        _now(),
        sa.UniqueConstraint("tenant_id", "root_run_id", "workflow_id", "activity_id",
                            name="uq_extract_checkpoints_lineage"),
        schema=S,
    )
    op.create_table(
        "sync_cursors",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(f"{S}.tenants.id", ondelete="CASCADE",
                                                           name="fk_sync_cursors_tenant_id_tenants"),
                  primary_key=True),
        sa.Column("workflow_id", sa.String(63), primary_key=True),
        sa.Column("activity_id", sa.String(63), primary_key=True),
        sa.Column("cursor_value", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        _now(),
        schema=S,
    )
    op.create_table(
        "sdk_requests",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_slug", sa.String(40), nullable=False, index=True),
        sa.Column("sdk_name", sa.String(63), nullable=False),
        sa.Column("sdk_version", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True, index=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("ms", sa.Float(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        schema=S,
    )
    op.create_table(
        "token_buckets",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        _now(),
        schema=S,
    )
    op.create_table(
        "run_refusals",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("tenant_slug", sa.String(40), nullable=True, index=True),
        sa.Column("tier", sa.String(20), nullable=True),
        sa.Column("workflow_id", sa.String(63), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False, index=True),
        sa.Column("message", sa.Text(), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    for table in ("run_refusals", "token_buckets", "sdk_requests", "sync_cursors", "extract_checkpoints"):
        op.drop_table(table, schema=S)
