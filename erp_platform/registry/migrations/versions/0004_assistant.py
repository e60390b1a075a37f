"""assistant: conversations, messages, drafts, per-tenant preferences; the ai_off control flag type

Revision ID: 0004_assistant
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_assistant"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "erp_control"


def _tenant_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{S}.tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_tenants"))


def _ts(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), _tenant_fk("assistant_conversations"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_conversations")),
        schema=S,
    )
    op.create_index(op.f("ix_assistant_conversations_tenant_id"), "assistant_conversations", ["tenant_id"], schema=S)
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), _tenant_fk("assistant_messages"), nullable=False),
        sa.Column("conversation_id", sa.String(36),
                  sa.ForeignKey(f"{S}.assistant_conversations.id", ondelete="CASCADE",
                                name=op.f("fk_assistant_messages_conversation_id_assistant_conversations")),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", postgresql.JSONB(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_messages")),
        sa.UniqueConstraint("conversation_id", "seq", name=op.f("uq_assistant_messages_seq")),
        sa.CheckConstraint("role IN ('user', 'assistant')", name=op.f("ck_assistant_messages_role")),
        schema=S,
    )
    op.create_table(
        "assistant_drafts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), _tenant_fk("assistant_drafts"), nullable=False),
        sa.Column("conversation_id", sa.String(36),
                  sa.ForeignKey(f"{S}.assistant_conversations.id", ondelete="SET NULL",
                                name=op.f("fk_assistant_drafts_conversation_id_assistant_conversations")),
                  nullable=True),
        sa.Column("workflow_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("definition", postgresql.JSONB(), nullable=False),
        sa.Column("report", postgresql.JSONB(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("repairs", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_drafts")),
        sa.CheckConstraint("status IN ('VALID', 'INVALID')", name=op.f("ck_assistant_drafts_status")),
        schema=S,
    )
    op.create_index(op.f("ix_assistant_drafts_tenant_workflow"), "assistant_drafts", ["tenant_id", "workflow_id"],
                    schema=S)
    op.create_index(op.f("ix_assistant_drafts_conversation_id"), "assistant_drafts", ["conversation_id"], schema=S)
    op.create_table(
        "assistant_preferences",
        sa.Column("tenant_id", sa.Integer(), _tenant_fk("assistant_preferences"), nullable=False),
        sa.Column("share_samples", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_assistant_preferences")),
        schema=S,
    )
    op.drop_constraint(op.f("ck_system_control_flags_flag_type"), "system_control_flags", schema=S, type_="check")
    op.create_check_constraint(
        op.f("ck_system_control_flags_flag_type"), "system_control_flags",
        "flag_type IN ('pause', 'block', 'rate_limit', 'ai_off')", schema=S,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_system_control_flags_flag_type"), "system_control_flags", schema=S, type_="check")
    op.execute(f"DELETE FROM {S}.system_control_flags WHERE flag_type = 'ai_off'")
    op.create_check_constraint(
        op.f("ck_system_control_flags_flag_type"), "system_control_flags",
        "flag_type IN ('pause', 'block', 'rate_limit')", schema=S,
    )
    op.drop_table("assistant_preferences", schema=S)
    op.drop_index(op.f("ix_assistant_drafts_conversation_id"), "assistant_drafts", schema=S)
    op.drop_index(op.f("ix_assistant_drafts_tenant_workflow"), "assistant_drafts", schema=S)
    op.drop_table("assistant_drafts", schema=S)
    op.drop_table("assistant_messages", schema=S)
    op.drop_index(op.f("ix_assistant_conversations_tenant_id"), "assistant_conversations", schema=S)
    op.drop_table("assistant_conversations", schema=S)
