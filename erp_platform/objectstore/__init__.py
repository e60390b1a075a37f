"""Tenant-prefixed object stores: a local folder (default) or S3.

Keys come only from :func:`tenant_key` (``tenants/<slug>/...``); stores refuse plain strings, so no
call can address another tenant's objects. Build a store with :func:`make_object_store`; a
:class:`StorageQuota` given to :meth:`ObjectStore.enforce_quota` bounds each tenant's bytes.
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
from erp_platform.objectstore._quota import GIB, StorageQuota, StorageQuotaExceededError, StorageUsage, human_bytes
from erp_platform.objectstore._s3 import S3ObjectStore
from erp_platform.objectstore._store import ObjectStore

__all__ = [
    "GIB",
    "InvalidObjectKeyError",
    "LocalObjectStore",
    "ObjectExistsError",
    "ObjectKey",
    "ObjectNotFoundError",
    "ObjectStore",
    "ObjectStoreUnavailableError",
    "S3ObjectStore",
    "StorageQuota",
    "StorageQuotaExceededError",
    "StorageUsage",
    "activity_output_key",
    "human_bytes",
    "make_object_store",
    "sdk_artifact_key",
    "tenant_key",
    "tenant_prefix",
]
