"""The end-to-end demo (``erp demo``, ``make demo``)."""

from erp_platform.demo._demo import (
    DEMO_TENANTS,
    DemoRun,
    DemoSummary,
    DemoTenant,
    TenantResult,
    run_demo,
    sdk_headers,
    workflow_params,
    workflow_text,
)

__all__ = ["DEMO_TENANTS", "DemoRun", "DemoSummary", "DemoTenant", "TenantResult", "run_demo", "sdk_headers",
           "workflow_params", "workflow_text"]
