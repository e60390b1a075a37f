"""The project's own realistic ERP HTTP server, for tests and benchmarks.

Three API styles over the same deterministic data (OData V4, OData V2, page-style REST), bearer and
API-key auth per ERP tenant with a required ``X-ERP-Tenant`` header, incremental ``updated_at``
cursors, simulated ERP activity, an idempotent ``POST``, injectable faults and its own OpenAPI document.

Example::

    from erp_platform.mock_erp import MockErpConfig, MockErpServer, expected_records

    with MockErpServer(MockErpConfig(rows=2_000, seed=1)) as erp:
        ...  # GET f"{erp.base_url}/api/v1/customers" with 'Authorization: Bearer tok-acme',
        #      'X-ERP-Tenant: acme'
        rows = list(erp.expected_records("acme", "customers"))
"""

from __future__ import annotations

from erp_platform.mock_erp._activity import (
    Activity,
    ActivityLog,
    ActivityRequest,
    AppendRows,
    CreateRecord,
    EntitySnapshot,
    TouchRows,
)
from erp_platform.mock_erp._app import MockErpApp
from erp_platform.mock_erp._auth import API_KEY_HEADER, TENANT_HEADER
from erp_platform.mock_erp._config import MAX_ROWS, MockErpConfig, TenantAuth, default_tenants
from erp_platform.mock_erp._entities import (
    ENTITIES,
    ENTITY_NAMES,
    ApiStyle,
    EntitySpec,
    FieldSpec,
    Kind,
)
from erp_platform.mock_erp._errors import (
    ActivityError,
    MockErpStartError,
    UnknownEntityError,
    UnknownTenantError,
)
from erp_platform.mock_erp._expected import expected_records
from erp_platform.mock_erp._faults import FaultKind, FaultRule, FaultState
from erp_platform.mock_erp._openapi import build_openapi
from erp_platform.mock_erp._paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from erp_platform.mock_erp._process import MockErpProcess
from erp_platform.mock_erp._rest import IDEMPOTENCY_HEADER, SalesOrderCreate
from erp_platform.mock_erp._server import MockErp, MockErpServer, serve_forever
from erp_platform.mock_erp._state import ServerStats
from erp_platform.mock_erp._timeline import BASE_MS, STEP_MS

__all__ = [
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
