"""Conversations, messages, drafts and preferences, stored per tenant and audited.

Every read starts from the tenant's slug and its row id: a conversation or draft id of another tenant is
"not found", exactly like an id that does not exist (so ids cannot be probed across tenants).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from assistant._model import Block, Message, Usage
from erp_platform._errors import NotFoundError
from erp_platform.registry import (
    AssistantConversation,
    AssistantDraft,
    AssistantMessage,
    AssistantPreference,
    current_actor,
    record_audit,
)
from erp_platform.workflows._scope import tenant_id_for

_BLOCKS: TypeAdapter[list[Block]] = TypeAdapter(list[Block])
_C, _M, _D = AssistantConversation, AssistantMessage, AssistantDraft


class ConversationInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    title: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    input_tokens: int
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class DraftInfo(BaseModel):
    """A stored draft with its report (validation, compile summary, dry run, notes)."""

    model_config = ConfigDict(frozen=True)

    id: int
    tenant: str
    conversation_id: str | None
    workflow_id: str
    version: int | None
    content_hash: str | None
    base_version: int | None
    status: str
    definition: dict[str, Any]
    report: dict[str, Any]
    diff: str
    repairs: int
    source: str
    created_by: str
    created_at: datetime


class AssistantStore:
    """Tenant-scoped storage of the assistant's conversations and drafts."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- conversations ---------------------------------------------------------------------------------
    def create_conversation(self, tenant: str, title: str) -> ConversationInfo:
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            conversation_id = str(uuid.uuid4())
            conn.execute(insert(_C).values(id=conversation_id, tenant_id=tenant_id, title=title[:200] or "chat",
                                           created_by=current_actor(), input_tokens=0, output_tokens=0))
            record_audit(conn, action="assistant.conversation", target_type="assistant_conversation",
                         target_id=conversation_id, tenant_slug=tenant, details={"title": title[:200]})
        return self.conversation(tenant, conversation_id)

    def conversation(self, tenant: str, conversation_id: str) -> ConversationInfo:
        """One conversation of this tenant (NotFoundError for any other id, another tenant's included)."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            row = conn.execute(select(_C.__table__).where(_C.id == conversation_id, _C.tenant_id == tenant_id)).first()
        if row is None:
            raise NotFoundError(
                f"conversation {conversation_id!r} does not exist for tenant {tenant!r}; list them with "
                f"`erp assistant conversations {tenant}`"
            )
        return ConversationInfo(tenant=tenant, **{k: v for k, v in row._mapping.items() if k != "tenant_id"})

    def conversations(self, tenant: str) -> list[ConversationInfo]:
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            rows = conn.execute(select(_C.__table__).where(_C.tenant_id == tenant_id)
                                .order_by(_C.updated_at.desc())).all()
        return [ConversationInfo(tenant=tenant, **{k: v for k, v in r._mapping.items() if k != "tenant_id"})
                for r in rows]

    def messages(self, tenant: str, conversation_id: str) -> list[Message]:
        info = self.conversation(tenant, conversation_id)
        with self._engine.connect() as conn:
            rows = conn.execute(select(_M.role, _M.content).where(_M.conversation_id == info.id)
                                .order_by(_M.seq)).all()
        return [Message(role=r.role, content=tuple(_BLOCKS.validate_python(r.content))) for r in rows]

    def append(self, tenant: str, conversation_id: str, messages: list[Message], usage: Usage) -> None:
        """Add messages and the tokens they cost, in one transaction (audited: counts, never content)."""
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            row = conn.execute(select(_C.id).where(_C.id == conversation_id, _C.tenant_id == tenant_id)
                               .with_for_update()).first()
            if row is None:
                raise NotFoundError(f"conversation {conversation_id!r} does not exist for tenant {tenant!r}")
            seq = conn.execute(select(func.coalesce(func.max(_M.seq), 0)).where(_M.conversation_id == conversation_id)
                               ).scalar_one()
            for k, message in enumerate(messages, start=1):
                conn.execute(insert(_M).values(
                    tenant_id=tenant_id, conversation_id=conversation_id, seq=seq + k, role=message.role,
                    content=[b.model_dump(mode="json") for b in message.content]))
            conn.execute(update(_C).where(_C.id == conversation_id).values(
                input_tokens=_C.input_tokens + usage.input_tokens, output_tokens=_C.output_tokens + usage.output_tokens,
                updated_at=func.now()))
            record_audit(conn, action="assistant.message", target_type="assistant_conversation",
                         target_id=conversation_id, tenant_slug=tenant,
                         details={"messages": len(messages), "input_tokens": usage.input_tokens,
                                  "output_tokens": usage.output_tokens})

    # -- drafts ----------------------------------------------------------------------------------------
    def add_draft(self, tenant: str, *, conversation_id: str | None, workflow_id: str, version: int | None,
                  content_hash: str | None, base_version: int | None, status: str, definition: dict[str, Any],
                  report: dict[str, Any], diff: str, repairs: int, source: str) -> DraftInfo:
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            draft_id = conn.execute(insert(_D).values(
                tenant_id=tenant_id, conversation_id=conversation_id, workflow_id=workflow_id, version=version,
                content_hash=content_hash, base_version=base_version, status=status, definition=definition,
                report=report, diff=diff, repairs=repairs, source=source[:100], created_by=current_actor(),
            ).returning(_D.id)).scalar_one()
            record_audit(conn, action="assistant.draft", target_type="workflow",
                         target_id=f"{workflow_id}@{version}" if version else workflow_id, tenant_slug=tenant,
                         details={"draft_id": draft_id, "status": status, "version": version,
                                  "content_hash": content_hash, "repairs": repairs, "source": source[:100],
                                  "conversation_id": conversation_id})
        return self.draft(tenant, draft_id)

    def draft(self, tenant: str, draft_id: int) -> DraftInfo:
        """One draft of this tenant (NotFoundError for any other id, another tenant's included)."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            row = conn.execute(select(_D.__table__).where(_D.id == draft_id, _D.tenant_id == tenant_id)).first()
        if row is None:
            raise NotFoundError(f"draft {draft_id} does not exist for tenant {tenant!r}; list them with "
                                f"`erp assistant drafts {tenant}`")
        return DraftInfo(tenant=tenant, **{k: v for k, v in row._mapping.items() if k != "tenant_id"})

    def drafts(self, tenant: str, conversation_id: str | None = None) -> list[DraftInfo]:
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            stmt = select(_D.__table__).where(_D.tenant_id == tenant_id)
            if conversation_id is not None:
                stmt = stmt.where(_D.conversation_id == conversation_id)
            rows = conn.execute(stmt.order_by(_D.id)).all()
        return [DraftInfo(tenant=tenant, **{k: v for k, v in r._mapping.items() if k != "tenant_id"}) for r in rows]

    # -- preferences -----------------------------------------------------------------------------------
    def share_samples(self, tenant: str) -> bool:
        """True when the tenant opted in to sending sample records to the AI provider."""
        with self._engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            value = conn.execute(select(AssistantPreference.share_samples)
                                 .where(AssistantPreference.tenant_id == tenant_id)).scalar()
        return bool(value)

    def set_share_samples(self, tenant: str, enabled: bool) -> None:
        """Opt in (or out) of sending sample records to the AI provider; audited."""
        actor = current_actor()
        with self._engine.begin() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            stmt = pg_insert(AssistantPreference).values(tenant_id=tenant_id, share_samples=enabled, updated_by=actor)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[AssistantPreference.tenant_id],
                set_={"share_samples": enabled, "updated_by": actor, "updated_at": func.now()}))
            record_audit(conn, action="assistant.share_samples", target_type="tenant", target_id=tenant,
                         tenant_slug=tenant, actor=actor, details={"share_samples": enabled})
