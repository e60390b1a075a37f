"""SQLAlchemy models of the control-plane schema ``erp_control``.

Rows here describe tenants and their artifacts; secrets are never stored in these tables except as
ciphertext in ``local_secrets`` (the embedded credential store's backend).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CONTROL_SCHEMA = "erp_control"

TIERS = ("free", "standard", "enterprise")
TENANT_STATUSES = ("active", "suspended", "deleted")
SDK_STATUSES = ("TESTING", "ACTIVE", "REVOKED", "FAILED")
WORKFLOW_STATUSES = ("DRAFT", "ACTIVE", "DEPRECATED", "RETIRED")
FLAG_SCOPES = ("global", "tenant", "workflow", "sdk")
FLAG_TYPES = ("pause", "block", "rate_limit", "ai_off")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(
        schema=CONTROL_SCHEMA,
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        },
    )
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, list[str]: JSONB}


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(_in("tier", TIERS), name="tier"),
        CheckConstraint(_in("status", TENANT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    schema_name: Mapped[str] = mapped_column(String(63))
    role_name: Mapped[str] = mapped_column(String(63))
    # Quota overrides: NULL means "the tier's default" (see erp_platform.tenancy.TierQuotas).
    max_concurrent_workflows: Mapped[int | None] = mapped_column(Integer)
    max_jobs_per_hour: Mapped[int | None] = mapped_column(Integer)
    max_concurrent_jobs: Mapped[int | None] = mapped_column(Integer)
    max_storage_gb: Mapped[int | None] = mapped_column(Integer)
    max_api_calls_per_minute: Mapped[int | None] = mapped_column(Integer)
    max_memory_mb: Mapped[int | None] = mapped_column(Integer)
    # Private addresses ("host:port") this tenant's SDKs may reach: explicit and audited (local ERPs).
    egress_private_allowlist: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class TenantCredential(Base):
    """A credential's metadata. The secret lives in the credential store, never here."""

    __tablename__ = "tenant_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "sdk", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # the SDK the credential is bound to (only that SDK reads and sends it); "" for a tenant-wide
    # credential stored before credentials were bound to SDKs, which no SDK reads
    sdk: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    store: Mapped[str] = mapped_column(String(20))  # "local" or "vault"
    store_path: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _now()
    rotated_at: Mapped[datetime] = _now()


class LocalSecret(Base):
    """Ciphertext of the embedded credential store (AES-GCM, key derived per tenant)."""

    __tablename__ = "local_secrets"

    store_path: Mapped[str] = mapped_column(String(300), primary_key=True)
    tenant_slug: Mapped[str] = mapped_column(String(40), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = _now()


class SdkVersion(Base):
    __tablename__ = "sdk_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version"),
        CheckConstraint(_in("status", SDK_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="TESTING")
    spec_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    wasm_hash: Mapped[str | None] = mapped_column(String(64))
    builder_version: Mapped[str] = mapped_column(String(40))
    spec_ref: Mapped[str | None] = mapped_column(String(500))
    code_ref: Mapped[str | None] = mapped_column(String(500))
    facade_ref: Mapped[str | None] = mapped_column(String(500))
    wasm_ref: Mapped[str | None] = mapped_column(String(500))
    precompiled_ref: Mapped[str | None] = mapped_column(String(500))
    sdk_spec: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    capabilities: Mapped[list[str]] = mapped_column(JSONB, default=list)
    allowed_domains: Mapped[list[str]] = mapped_column(JSONB, default=list)
    operation_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_operations: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    test_results: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    security_scan: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = _now()
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowDefinitionRow(Base):
    __tablename__ = "workflow_definitions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "workflow_id", "version"),
        CheckConstraint(_in("status", WORKFLOW_STATUSES), name="status"),
        Index(
            "uq_workflow_definitions_one_active",
            "tenant_id",
            "workflow_id",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    deprecated_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    force_cancel_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    required_sdk_version: Mapped[int | None] = mapped_column(Integer)
    required_capabilities: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = _now()
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MappingConfig(Base):
    __tablename__ = "mapping_configs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "version"),
        CheckConstraint(_in("status", WORKFLOW_STATUSES), name="status"),
        Index(
            "uq_mapping_configs_one_active",
            "tenant_id",
            "name",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    created_at: Mapped[datetime] = _now()


class SystemControlFlag(Base):
    __tablename__ = "system_control_flags"
    __table_args__ = (
        CheckConstraint(_in("scope", FLAG_SCOPES), name="scope"),
        CheckConstraint(_in("flag_type", FLAG_TYPES), name="flag_type"),
        CheckConstraint("(scope = 'global') = (scope_id IS NULL)", name="scope_id"),
        Index(
            "uq_system_control_flags_active",
            "scope",
            text("coalesce(scope_id, '')"),
            "flag_type",
            unique=True,
            postgresql_where=text("enabled"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[str | None] = mapped_column(String(200))
    flag_type: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(Text)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = _now()
    cleared_by: Mapped[str | None] = mapped_column(String(100))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only: the database refuses UPDATE, DELETE and TRUNCATE on this table."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100), index=True)
    tenant_slug: Mapped[str | None] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ExtractCheckpoint(Base):
    """Progress of one extract activity within a run lineage (root run + its re-executions)."""

    __tablename__ = "extract_checkpoints"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "root_run_id", "workflow_id", "activity_id", name="uq_extract_checkpoints_lineage"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    root_run_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(63))
    activity_id: Mapped[str] = mapped_column(String(63))
    run_id: Mapped[str] = mapped_column(String(64))
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    records_done: Mapped[int] = mapped_column(BigInteger, default=0)
    next_token: Mapped[str | None] = mapped_column(Text)
    part_keys: Mapped[list[str]] = mapped_column(JSONB, default=list)
    cursor_max: Mapped[str | None] = mapped_column(String(64))
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = _now()


class SyncCursor(Base):
    """Incremental cursor of an extract: the newest ``updated_at`` durably loaded."""

    __tablename__ = "sync_cursors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    cursor_value: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = _now()


class SdkRequest(Base):
    """One HTTP request made by the host for an SDK call (no secrets, no query values)."""

    __tablename__ = "sdk_requests"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    tenant_slug: Mapped[str] = mapped_column(String(40), index=True)
    sdk_name: Mapped[str] = mapped_column(String(63))
    sdk_version: Mapped[int] = mapped_column(Integer)
    operation: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(10))
    host: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    ms: Mapped[float] = mapped_column(default=0.0)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)


class TokenBucket(Base):
    """A token bucket kept in Postgres so every process (webserver, daemon, sensors, CLI) shares it."""

    __tablename__ = "token_buckets"

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column()
    updated_at: Mapped[datetime] = _now()


class RunRefusal(Base):
    """A run the coordinator refused at submit time, with the reason (counted by ``erp ops status``)."""

    __tablename__ = "run_refusals"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = _now()
    run_id: Mapped[str] = mapped_column(String(64))
    tenant_slug: Mapped[str | None] = mapped_column(String(40), index=True)
    tier: Mapped[str | None] = mapped_column(String(20))
    workflow_id: Mapped[str | None] = mapped_column(String(63))
    reason: Mapped[str] = mapped_column(String(40), index=True)
    message: Mapped[str] = mapped_column(Text)
