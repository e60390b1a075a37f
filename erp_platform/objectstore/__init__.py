"""Tenant-prefixed object stores: a local folder (default) or S3.

Keys come only from :func:`tenant_key` (``tenants/<slug>/...``); stores refuse plain strings, so no
call can address another tenant's objects. Build a store with :func:`make_object_store`.
"""

from erp_platform.objectstore._errors import (
    InvalidObjectKeyError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreUnavailableError,
)
from erp_platform.objectstore._factory import make_object_store
from erp_platform.objectstore._keys import (
    ObjectKey,
    activity_output_key,
    sdk_artifact_key,
    tenant_key,
    tenant_prefix,
)
from erp_platform.objectstore._local import LocalObjectStore
from erp_platform.objectstore._s3 import S3ObjectStore
from erp_platform.objectstore._store import ObjectStore

__all__ = [
    "InvalidObjectKeyError",
    "LocalObjectStore",
    "ObjectExistsError",
    "ObjectKey",
    "ObjectNotFoundError",
    "ObjectStore",
    "ObjectStoreUnavailableError",
    "S3ObjectStore",
    "activity_output_key",
    "make_object_store",
    "sdk_artifact_key",
    "tenant_key",
    "tenant_prefix",
]
