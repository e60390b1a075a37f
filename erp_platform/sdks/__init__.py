"""The SDK pipeline and registry: build -> compile -> sandbox test -> register, then open SDK sessions.

Example::

    from erp_platform.sdks import SdkService

    service = SdkService.from_platform(platform)
    info = service.build("acme", Path("mock_erp.openapi.json"))     # TESTING (or FAILED, with results)
    service.activate("acme", info.name, info.version)               # TESTING -> ACTIVE
    with service.open_session("acme", info.name, run_id="run-1") as session:
        for page in session.iter_pages("list_customers", {"_page_size": 1000}):
            ...
"""

from erp_platform.sdks._artifacts import ENGINE_KEY, ComponentLoader
from erp_platform.sdks._errors import SdkStatusError
from erp_platform.sdks._mock_target import MOCK_TENANT, is_mock_spec
from erp_platform.sdks._models import (
    ArtifactRefs,
    OperationDecisions,
    OperationTestResult,
    SdkCheckReport,
    SdkStatus,
    SdkTestReport,
    SdkVersionInfo,
    TestTarget,
)
from erp_platform.sdks._prune import KeptVersion, PrunedVersion, PruneReport
from erp_platform.sdks._recorder import RegistryRequestRecorder
from erp_platform.sdks._runtime import process_runtime
from erp_platform.sdks._service import OncePerSession, RecordedSession, SdkService, SpecSource
from erp_platform.sdks._testing import MAX_TESTED_OPERATIONS, run_sandbox_tests, select_operations

__all__ = [
    "ENGINE_KEY",
    "MAX_TESTED_OPERATIONS",
    "MOCK_TENANT",
    "ArtifactRefs",
    "ComponentLoader",
    "KeptVersion",
    "OncePerSession",
    "OperationDecisions",
    "OperationTestResult",
    "PruneReport",
    "PrunedVersion",
    "RecordedSession",
    "RegistryRequestRecorder",
    "SdkCheckReport",
    "SdkService",
    "SdkStatus",
    "SdkStatusError",
    "SdkTestReport",
    "SdkVersionInfo",
    "SpecSource",
    "TestTarget",
    "is_mock_spec",
    "process_runtime",
    "run_sandbox_tests",
    "select_operations",
]
