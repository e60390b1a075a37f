"""The public surface of sdk_builder is pinned."""

from __future__ import annotations

import sdk_builder


def test_exported_names() -> None:
    assert sorted(sdk_builder.__all__) == [
        "BUILDER_VERSION",
        "BuildTimings",
        "BuiltSdk",
        "CredentialLocation",
        "CredentialRequirement",
        "DateFormat",
        "Decision",
        "DecisionSource",
        "Entity",
        "EntityField",
        "GeneratedSdk",
        "GenerationError",
        "Generator",
        "Incremental",
        "IncrementalMode",
        "IncrementalOverride",
        "Operation",
        "OperationEvidence",
        "OperationOverride",
        "Pagination",
        "PaginationStyle",
        "PagingOverride",
        "ParamLocation",
        "ParamType",
        "Parameter",
        "ParsedSpec",
        "RequestBody",
        "ScanFinding",
        "ScanProfile",
        "ScanRefused",
        "ScanReport",
        "SdkOverrides",
        "SdkSpec",
        "SkippedOperation",
        "SourceFormat",
        "SpecError",
        "SpecLimitExceeded",
        "SpecLimits",
        "ValueEncoding",
        "apply_overrides",
        "build_sdk",
        "generate",
        "load_spec",
        "parse_overrides",
        "scan",
        "sdk_name_from_title",
    ]
    for name in sdk_builder.__all__:
        assert getattr(sdk_builder, name) is not None


def test_errors_belong_to_the_platform_hierarchy() -> None:
    from erp_platform._errors import ErpPlatformError, InvalidInputError

    assert issubclass(sdk_builder.SpecError, InvalidInputError)
    assert issubclass(sdk_builder.ScanRefused, InvalidInputError)
    assert issubclass(sdk_builder.GenerationError, ErpPlatformError)
