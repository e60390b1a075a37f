"""The public surface of erp_platform.sdks (and the builder's build entry points) is pinned."""

from __future__ import annotations

import erp_platform.sdks as sdks
import sdk_builder
from erp_platform._errors import ConflictError


def test_exported_names() -> None:
    assert set(sdks.__all__) == {
        "ENGINE_KEY", "MAX_TESTED_OPERATIONS", "MOCK_TENANT", "ArtifactRefs", "ComponentLoader",
        "KeptVersion", "OncePerSession", "OperationDecisions", "OperationTestResult", "PruneReport",
        "PrunedVersion", "RecordedSession",
        "RegistryRequestRecorder", "SdkCheckReport", "SdkService",
        "SdkStatus", "SdkStatusError", "SdkTestReport", "SdkVersionInfo", "SpecSource", "TestTarget",
        "is_mock_spec", "process_runtime", "run_sandbox_tests", "select_operations",
    }
    for name in sdks.__all__:
        assert getattr(sdks, name) is not None
    build_api = {"BuildTimings", "BuiltSdk", "Generator", "build_sdk", "sdk_name_from_title"}
    assert build_api <= set(sdk_builder.__all__)
    inference_api = {
        "CredentialLocation", "CredentialRequirement", "Decision", "DecisionSource", "OperationEvidence",
        "SdkOverrides", "OperationOverride", "PagingOverride", "IncrementalOverride", "parse_overrides",
        "apply_overrides",
    }
    assert inference_api <= set(sdk_builder.__all__)


def test_status_errors_are_conflicts() -> None:
    assert issubclass(sdks.SdkStatusError, ConflictError)
