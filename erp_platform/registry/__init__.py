"""The control-plane registry: models of ``erp_control``, migrations and the audit log."""

from erp_platform.registry._audit import current_actor, record_audit
from erp_platform.registry._migrate import current_revision, head_revision, migrate
from erp_platform.registry._models import (
    CONTROL_SCHEMA,
    FLAG_SCOPES,
    FLAG_TYPES,
    SDK_STATUSES,
    TIERS,
    WORKFLOW_STATUSES,
    AuditEntry,
    Base,
    LocalSecret,
    MappingConfig,
    SdkVersion,
    SystemControlFlag,
    Tenant,
    TenantCredential,
    WorkflowDefinitionRow,
)

__all__ = [
    "CONTROL_SCHEMA",
    "FLAG_SCOPES",
    "FLAG_TYPES",
    "SDK_STATUSES",
    "TIERS",
    "WORKFLOW_STATUSES",
    "AuditEntry",
    "Base",
    "LocalSecret",
    "MappingConfig",
    "SdkVersion",
    "SystemControlFlag",
    "Tenant",
    "TenantCredential",
    "WorkflowDefinitionRow",
    "current_actor",
    "current_revision",
    "head_revision",
    "migrate",
    "record_audit",
]
