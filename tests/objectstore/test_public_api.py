"""The package's public names are pinned: changing them is a decision, not an accident."""

from __future__ import annotations

import erp_platform.objectstore as objectstore


def test_exported_names() -> None:
    assert set(objectstore.__all__) == {
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
    }
    for name in objectstore.__all__:
        assert getattr(objectstore, name) is not None


def test_error_kinds_fit_the_platform_hierarchy() -> None:
    from erp_platform._errors import (
        ConflictError,
        InvalidInputError,
        NotFoundError,
        ObjectStoreError,
        QuotaExceededError,
    )

    assert issubclass(objectstore.ObjectNotFoundError, ObjectStoreError)
    assert issubclass(objectstore.ObjectNotFoundError, NotFoundError)
    assert issubclass(objectstore.ObjectExistsError, ConflictError)
    assert issubclass(objectstore.InvalidObjectKeyError, InvalidInputError)
    assert objectstore.ObjectStoreUnavailableError.transient
    assert issubclass(objectstore.StorageQuotaExceededError, QuotaExceededError)
    assert not objectstore.StorageQuotaExceededError.transient  # only deleting objects helps
