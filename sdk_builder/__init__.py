"""The SDK builder: API specs -> SdkSpec -> generated guest + facade code -> security scan.

Example:
    >>> from sdk_builder import generate, load_spec
    >>> parsed = load_spec("dynamics365_business_central_v1.openapi.yaml")
    >>> sdk = generate(parsed.spec)   # sdk.files go to componentize-py, sdk.facade to the host
    >>> built = build_sdk(path, cache_dir=Path(".erp/cache/wasm"))  # parse + generate + scan + compile
"""

from __future__ import annotations

from sdk_builder._build import BuildTimings, BuiltSdk, Generator, build_sdk, sdk_name_from_title
from sdk_builder._errors import GenerationError, ScanRefused, SpecError
from sdk_builder._generate import GeneratedSdk, generate
from sdk_builder._limits import SpecLimitExceeded, SpecLimits
from sdk_builder._loading import load_spec
from sdk_builder._model import (
    CredentialLocation,
    CredentialRequirement,
    DateFormat,
    Decision,
    DecisionSource,
    Entity,
    EntityField,
    Incremental,
    IncrementalMode,
    Operation,
    OperationEvidence,
    Pagination,
    PaginationStyle,
    Parameter,
    ParamLocation,
    ParamType,
    ParsedSpec,
    RequestBody,
    SdkSpec,
    SkippedOperation,
    SourceFormat,
    ValueEncoding,
)
from sdk_builder._overrides import (
    IncrementalOverride,
    OperationOverride,
    PagingOverride,
    SdkOverrides,
    apply_overrides,
    parse_overrides,
)
from sdk_builder._scan import ScanFinding, ScanProfile, ScanReport, scan
from sdk_builder._version import BUILDER_VERSION

__all__ = [
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
