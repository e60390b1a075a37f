"""The public surface of the platform's core packages is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "erp_platform": [
        "ArtifactIntegrityError",
        "BlockedError",
        "ConfigurationError",
        "ConflictError",
        "ControlFlagError",
        "CredentialError",
        "ErpPlatformError",
        "InvalidInputError",
        "NotFoundError",
        "ObjectStoreError",
        "PausedError",
        "Platform",
        "Problem",
        "QuotaExceededError",
        "TenantIsolationError",
        "ValidationFailed",
        "mask_secret",
    ],
    "erp_platform.config": ["Settings", "load_settings"],
    "erp_platform.db": [
        "IDENTIFIER_RULE",
        "SLUG_RULE",
        "database_url",
        "embedded_database_url",
        "embedded_server_pid",
        "make_engine",
        "quote_ident",
        "sqlalchemy_url",
        "stop_embedded_server",
        "tenant_role",
        "tenant_schema",
        "validate_identifier",
        "validate_slug",
    ],
    "erp_platform.registry": [
        "AuditEntry",
        "Base",
        "CONTROL_SCHEMA",
        "ExtractCheckpoint",
        "FLAG_SCOPES",
        "FLAG_TYPES",
        "LocalSecret",
        "MappingConfig",
        "RunRefusal",
        "SDK_STATUSES",
        "SdkRequest",
        "SdkVersion",
        "SyncCursor",
        "SystemControlFlag",
        "TIERS",
        "Tenant",
        "TenantCredential",
        "TokenBucket",
        "WORKFLOW_STATUSES",
        "WorkflowDefinitionRow",
        "current_actor",
        "current_revision",
        "head_revision",
        "migrate",
        "record_audit",
    ],
    "erp_platform.tenancy": [
        "PurgeHook",
        "Quotas",
        "TIER_POLICIES",
        "TenantInfo",
        "TenantService",
        "Tier",
        "TierPolicy",
        "effective_quotas",
        "tenant_transaction",
    ],
    "erp_platform.controls": ["ControlFlag", "ControlFlags", "scope_ids_for", "validate_scope"],
    "erp_platform.orchestration": [
        "DevStack",
        "ErpRunCoordinator",
        "ErpRunLauncher",
        "QueuePolicy",
        "RunLaunchError",
        "StackError",
        "build_tenant_definitions",
        "dagster_home",
        "dagster_pg_url",
        "dagster_yaml_text",
        "forkserver_socket",
        "launch_workflow_run",
        "prepare_dagster_home",
        "render_dagster_yaml",
        "render_workspace",
        "run_failure_message",
        "tenant_locations",
        "wait_for_run",
        "write_workspace",
    ],
    "erp_platform.demo": [
        "DEMO_TENANTS",
        "DemoSummary",
        "DemoTenant",
        "TenantResult",
        "run_demo",
        "sdk_headers",
        "workflow_params",
        "workflow_text",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_names_are_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None
