"""Errors of the object stores (on top of the platform hierarchy in ``erp_platform._errors``)."""

from __future__ import annotations

from erp_platform._errors import ConflictError, InvalidInputError, NotFoundError, ObjectStoreError


class InvalidObjectKeyError(InvalidInputError):
    """An object key part is unsafe or malformed (traversal, absolute path, control characters...)."""


class ObjectNotFoundError(ObjectStoreError, NotFoundError):
    """No object under this key."""


class ObjectExistsError(ObjectStoreError, ConflictError):
    """``put_new`` found the key taken: activity outputs are never overwritten."""


class ObjectStoreUnavailableError(ObjectStoreError):
    """The store cannot be reached right now (network, throttling); worth retrying."""

    transient = True


def object_exists(key: object) -> ObjectExistsError:
    """The error for a ``put_new`` on a taken key (same text for every store)."""
    return ObjectExistsError(
        f"object {key} already exists and is never overwritten (activity outputs are written once per "
        "attempt): write a new key, e.g. the next attempt number"
    )


def object_not_found(key: object, detail: str = "") -> ObjectNotFoundError:
    """The error for a read of a missing object (same text for every store, plus a store detail)."""
    return ObjectNotFoundError(f"no object at {key}{detail}: check the key, or list its prefix")
