"""The public API of erp_platform.sandbox is pinned: changing it is a deliberate decision."""

from __future__ import annotations

import erp_platform.sandbox as sandbox

EXPECTED = {
    "AuthConfig",
    "AuthScheme",
    "BucketConfig",
    "CallContext",
    "CallStats",
    "ComponentBuildError",
    "DeadlineExceeded",
    "EgressDenied",
    "EgressPolicy",
    "EmptySelectionError",
    "FetchedPage",
    "FieldKind",
    "FuelExhausted",
    "GuestError",
    "GuestPage",
    "GuestSource",
    "GuestTrap",
    "HeaderSource",
    "HostServices",
    "InMemoryRateLimiter",
    "InMemoryRequestRecorder",
    "InvalidGuestOutput",
    "LoadedComponent",
    "LogLine",
    "MemoryLimitExceeded",
    "NativeComponent",
    "NormalisationError",
    "Origin",
    "OutputTooLarge",
    "PageReader",
    "PageResult",
    "PageSource",
    "PagingLoopError",
    "RawPageResult",
    "ParseMode",
    "RateLimited",
    "RateLimiter",
    "RequestRecord",
    "RequestRecorder",
    "Resolver",
    "ResponseTooLarge",
    "SandboxClosed",
    "SandboxError",
    "SandboxLimits",
    "SandboxRuntime",
    "SandboxViolation",
    "SdkCallError",
    "SdkManifest",
    "SdkSession",
    "SecretProvider",
    "TooManyRequests",
    "UpstreamError",
    "compile_component",
    "component_hash",
    "describe_held",
    "held_arrays",
    "mask_token",
    "normalise_records",
    "origin_of",
    "origin_text",
}


def test_public_names_are_pinned() -> None:
    assert set(sandbox.__all__) == EXPECTED
    assert len(sandbox.__all__) == len(EXPECTED)


def test_every_public_name_exists() -> None:
    missing = [name for name in sandbox.__all__ if not hasattr(sandbox, name)]
    assert missing == []


def test_violations_and_failures_share_the_platform_root() -> None:
    from erp_platform._errors import ErpPlatformError

    violations = [
        sandbox.EgressDenied, sandbox.FuelExhausted, sandbox.MemoryLimitExceeded, sandbox.DeadlineExceeded,
        sandbox.OutputTooLarge, sandbox.ResponseTooLarge, sandbox.RateLimited, sandbox.TooManyRequests,
        sandbox.InvalidGuestOutput, sandbox.GuestTrap,
    ]
    assert all(issubclass(cls, sandbox.SandboxViolation) for cls in violations)
    assert issubclass(sandbox.SandboxViolation, ErpPlatformError)
    assert issubclass(sandbox.SdkCallError, ErpPlatformError)
    assert issubclass(sandbox.UpstreamError, ErpPlatformError)
    assert sandbox.RateLimited.transient is True
    assert sandbox.EgressDenied.transient is False
