"""Tables of the AI assistant: conversations, their messages, drafts and per-tenant preferences.

Every row carries its tenant; the assistant reads them only through the tenant's id, so one tenant's
conversations and drafts are invisible to another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from erp_platform.registry._models import Base, _in, _now

MESSAGE_ROLES = ("user", "assistant")
DRAFT_STATUSES = ("VALID", "INVALID")


class AssistantConversation(Base):
    """One conversation of one tenant with the assistant; tokens are counted against its budget."""

    __tablename__ = "assistant_conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)


class AssistantMessage(Base):
    """One message of a conversation: the user's or the assistant's content blocks (metadata only)."""

    __tablename__ = "assistant_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_assistant_messages_seq"),
        CheckConstraint(_in("role", MESSAGE_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("assistant_conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[list[Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()


class AssistantDraft(Base):
    """A draft the assistant produced: the DRAFT workflow version it stored (when valid), its problems,
    diff against ACTIVE, compiled graph and dry-run preview."""

    __tablename__ = "assistant_drafts"
    __table_args__ = (
        CheckConstraint(_in("status", DRAFT_STATUSES), name="status"),
        Index("ix_assistant_drafts_tenant_workflow", "tenant_id", "workflow_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="SET NULL"), index=True
    )
    workflow_id: Mapped[str] = mapped_column(String(63))
    version: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    base_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    diff: Mapped[str] = mapped_column(Text, default="")
    repairs: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _now()


class AssistantPreference(Base):
    """Per-tenant assistant choices; ``share_samples`` lets sample records reach the AI provider."""

    __tablename__ = "assistant_preferences"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    share_samples: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = _now()
