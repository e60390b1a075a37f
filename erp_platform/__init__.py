"""ERP integration platform: multi-tenant, sandboxed WASM SDKs, workflows compiled to Dagster asset graphs.

The public surface of the package root is small: the :class:`Platform` (settings, database, stores of
one process) and the error hierarchy. Each plane is its own subpackage (``tenancy``, ``registry``,
``credentials``, ``objectstore``, ``sandbox``, ``workflows``, ``transforms``, ``loader``,
``orchestration``, ``controls``) with its own ``__all__``.
"""

from erp_platform._errors import (
    ArtifactIntegrityError,
    BlockedError,
    ConfigurationError,
    ConflictError,
    ControlFlagError,
    CredentialError,
    ErpPlatformError,
    InvalidInputError,
    NotFoundError,
    ObjectStoreError,
    PausedError,
    Problem,
    QuotaExceededError,
    TenantIsolationError,
    ValidationFailed,
    mask_secret,
)
from erp_platform._platform import Platform

__all__ = [
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
]
