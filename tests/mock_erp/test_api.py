"""The package's public surface is pinned."""

from __future__ import annotations

import erp_platform.mock_erp as mock_erp


def test_public_names() -> None:
    assert sorted(mock_erp.__all__) == sorted(
        [
            "API_KEY_HEADER",
            "BASE_MS",
            "DEFAULT_PAGE_SIZE",
            "ENTITIES",
            "ENTITY_NAMES",
            "IDEMPOTENCY_HEADER",
            "MAX_PAGE_SIZE",
            "MAX_ROWS",
            "STEP_MS",
            "TENANT_HEADER",
            "Activity",
            "ActivityError",
            "ActivityLog",
            "ActivityRequest",
            "ApiStyle",
            "AppendRows",
            "CreateRecord",
            "EntitySnapshot",
            "EntitySpec",
            "FaultKind",
            "FaultRule",
            "FaultState",
            "FieldSpec",
            "Kind",
            "MockErp",
            "MockErpApp",
            "MockErpConfig",
            "MockErpProcess",
            "MockErpServer",
            "MockErpStartError",
            "SalesOrderCreate",
            "ServerStats",
            "TenantAuth",
            "TouchRows",
            "UnknownEntityError",
            "UnknownTenantError",
            "build_openapi",
            "default_tenants",
            "expected_records",
            "serve_forever",
        ]
    )
    for name in mock_erp.__all__:
        assert getattr(mock_erp, name) is not None
