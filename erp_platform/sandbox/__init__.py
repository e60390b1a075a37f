"""The WebAssembly sandbox for generated ERP SDKs: compile, run under wasmtime, and own the network.

Guests are Python modules compiled by componentize-py for the ``connector`` world
(``wit/connector.wit``). The host runs them with fuel, an epoch deadline, a memory cap and a WASI
context that grants nothing; their only way out is the ``host`` interface, whose HTTP requests the host
checks (domains, private addresses, headers), authenticates, rate-limits, retries and records.

Example::

    wasm = compile_component({"guest.py": source}, entry="guest", cache_dir=Path(".erp/cache/wasm"))
    with SandboxRuntime(cache_dir=Path(".erp/cache/wasm")) as runtime:
        component = runtime.load_component(wasm)
        services = HostServices(secrets=read_secret, egress_policy=EgressPolicy())
        with SdkSession(manifest, component, services) as session:
            for page in session.iter_pages("list_customers", {"_page_size": 1000}):
                ...
"""

from erp_platform.sandbox._compile import compile_component, component_hash
from erp_platform.sandbox._egress import EgressPolicy, Origin, Resolver, origin_of, origin_text
from erp_platform.sandbox._errors import (
    CallContext,
    ComponentBuildError,
    DeadlineExceeded,
    EgressDenied,
    EmptySelectionError,
    FuelExhausted,
    GuestTrap,
    InvalidGuestOutput,
    MemoryLimitExceeded,
    NormalisationError,
    OutputTooLarge,
    PagingLoopError,
    RateLimited,
    ResponseTooLarge,
    SandboxClosed,
    SandboxError,
    SandboxViolation,
    SdkCallError,
    TooManyRequests,
    UpstreamError,
)
from erp_platform.sandbox._manifest import AuthConfig, AuthScheme, HeaderSource, SandboxLimits, SdkManifest
from erp_platform.sandbox._native import NativeComponent
from erp_platform.sandbox._normalise import normalise_records
from erp_platform.sandbox._protocol import FieldKind, GuestError, GuestPage, ParseMode
from erp_platform.sandbox._ratelimit import BucketConfig, InMemoryRateLimiter, RateLimiter
from erp_platform.sandbox._reader import FetchedPage, PageReader, PageSource
from erp_platform.sandbox._recorder import InMemoryRequestRecorder, RequestRecord, RequestRecorder
from erp_platform.sandbox._results import CallStats, LogLine, PageResult, RawPageResult
from erp_platform.sandbox._runtime import LoadedComponent, SandboxRuntime
from erp_platform.sandbox._selection import describe_held, held_arrays, mask_token
from erp_platform.sandbox._services import HostServices, SecretProvider
from erp_platform.sandbox._session import GuestSource, SdkSession

__all__ = [
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
    "ParseMode",
    "RateLimited",
    "RateLimiter",
    "RawPageResult",
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
]
