"""The object store contract, shared by the local folder and S3 implementations."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from erp_platform._errors import InvalidInputError
from erp_platform.db import validate_slug
from erp_platform.objectstore._errors import InvalidObjectKeyError, ObjectNotFoundError
from erp_platform.objectstore._keys import ObjectKey, tenant_prefix
from erp_platform.objectstore._quota import StorageQuota, StorageUsage

Data = bytes | bytearray | memoryview


class ObjectStore(ABC):
    """Tenant-prefixed objects. Every method takes :class:`ObjectKey` values (from ``tenant_key``) only.

    ``put_new`` never overwrites (activity outputs are written once per attempt); ``put_file`` and
    ``get_file`` stream large files without reading them into memory. ``list``/``delete_prefix`` treat
    the prefix as a folder: ``tenant_key("acme", "executions", "r1")`` covers ``.../r1/...`` only, never
    ``.../r10/...``. A store is a context manager; ``close`` is idempotent.

    With :meth:`enforce_quota`, every write is first checked against the tenant's storage quota (here,
    for every kind of object and both stores), and refused whole when it would pass it.
    """

    _quota: StorageQuota | None = None

    # -- the contract -------------------------------------------------------------------------------
    def put_bytes(self, key: ObjectKey, data: Data) -> None:
        """Write ``data`` at ``key``, replacing any object there (atomically: readers see old or new).

        Raises:
            StorageQuotaExceededError: the write would pass the tenant's storage quota (nothing written).
        """
        key, payload = self._object(key), _as_bytes(key, data)
        with self._metered(key, len(payload), new=False):
            self._put_bytes(key, payload, new=False)

    def put_new(self, key: ObjectKey, data: Data) -> None:
        """Write ``data`` at ``key`` only if no object is there.

        Raises:
            ObjectExistsError: the key is taken (the existing object is left untouched).
            StorageQuotaExceededError: the write would pass the tenant's storage quota (nothing written).
        """
        key, payload = self._object(key), _as_bytes(key, data)
        with self._metered(key, len(payload), new=True):
            self._put_bytes(key, payload, new=True)

    def put_file(self, key: ObjectKey, path: Path | str, *, new: bool = False) -> None:
        """Stream the file at ``path`` to ``key``; with ``new=True`` fail like :meth:`put_new` if taken.

        Raises:
            StorageQuotaExceededError: the write would pass the tenant's storage quota (nothing written).
        """
        source = Path(path)
        if not source.is_file():
            raise InvalidInputError(f"cannot upload {source} to {key}: it is not a readable file")
        key = self._object(key)
        with self._metered(key, source.stat().st_size, new=new):
            self._put_file(key, source, new=new)

    # -- storage quotas -----------------------------------------------------------------------------
    def enforce_quota(self, quota: StorageQuota) -> None:
        """Check every later write of a tenant's objects against ``quota`` (the one place it is enforced)."""
        self._quota = quota

    def check_room(self, tenant: str, incoming: int, what: str) -> None:
        """Refuse early, before a group of writes totalling ``incoming`` bytes, if they cannot fit.

        Raises:
            StorageQuotaExceededError: with the usage, the limit and what to delete.
        """
        if self._quota is not None:
            self._quota.admit(validate_slug(tenant), what, incoming, 0, self.measure_usage)

    def usage(self, tenant: str, *, fresh: bool = True) -> StorageUsage:
        """What ``tenant``'s objects take (measured now unless ``fresh=False``) and its limit, if enforced."""
        slug = validate_slug(tenant)
        if self._quota is None:
            return StorageUsage(slug, self.measure_usage(slug), None)
        return self._quota.usage(slug, self.measure_usage, fresh=fresh)

    def measure_usage(self, tenant: str) -> int:
        """The bytes every object of ``tenant`` takes, from a listing of its prefix."""
        return self._usage(tenant_prefix(tenant))

    def get_file(self, key: ObjectKey, path: Path | str) -> Path:
        """Stream the object at ``key`` into the file ``path`` (replaced atomically); return ``path``.

        Raises:
            ObjectNotFoundError: no object at ``key``.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._get_file(self._object(key), target)
        return target

    def get_bytes(self, key: ObjectKey) -> bytes:
        """The object's content. Raises ObjectNotFoundError when there is none."""
        return self._get_bytes(self._object(key))

    def exists(self, key: ObjectKey) -> bool:
        """Whether an object is stored at ``key``."""
        return self._exists(self._object(key))

    def size(self, key: ObjectKey) -> int:
        """The object's size in bytes. Raises ObjectNotFoundError when there is none."""
        return self._size(self._object(key))

    def list(self, prefix: ObjectKey) -> builtins.list[ObjectKey]:
        """Every object below ``prefix`` (a folder), sorted by path."""
        return sorted(self._list(_checked(prefix)), key=lambda k: k.path)

    def delete(self, key: ObjectKey) -> None:
        """Delete the object at ``key``; deleting a missing object is not an error."""
        key = self._object(key)
        try:
            self._delete(key)
        finally:
            self._forget(key.tenant)

    def delete_prefix(self, prefix: ObjectKey) -> int:
        """Delete every object below ``prefix`` (a folder); return how many were deleted."""
        prefix = _checked(prefix)
        try:
            return self._delete_prefix(prefix)
        finally:
            self._forget(prefix.tenant)

    def purge_tenant(self, tenant: str) -> int:
        """Delete every object of a tenant (used when the tenant is purged); return how many."""
        return self.delete_prefix(tenant_prefix(tenant))

    def close(self) -> None:  # noqa: B027  (optional hook: stores holding no resources need nothing)
        """Release resources (idempotent)."""

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- implementation hooks -----------------------------------------------------------------------
    @abstractmethod
    def _put_bytes(self, key: ObjectKey, data: bytes, *, new: bool) -> None: ...

    @abstractmethod
    def _put_file(self, key: ObjectKey, source: Path, *, new: bool) -> None: ...

    @abstractmethod
    def _get_file(self, key: ObjectKey, target: Path) -> None: ...

    @abstractmethod
    def _get_bytes(self, key: ObjectKey) -> bytes: ...

    @abstractmethod
    def _exists(self, key: ObjectKey) -> bool: ...

    @abstractmethod
    def _size(self, key: ObjectKey) -> int: ...

    @abstractmethod
    def _list(self, prefix: ObjectKey) -> builtins.list[ObjectKey]: ...

    @abstractmethod
    def _delete(self, key: ObjectKey) -> None: ...

    @abstractmethod
    def _delete_prefix(self, prefix: ObjectKey) -> int: ...

    @abstractmethod
    def _usage(self, prefix: ObjectKey) -> int: ...

    @contextmanager
    def _metered(self, key: ObjectKey, incoming: int, *, new: bool) -> Iterator[None]:
        """Admit a write under the tenant's quota, then add what it changed to the running total."""
        quota = self._quota
        if quota is None:
            yield
            return
        replaced = 0 if new else self._replaced_size(key)
        quota.admit(key.tenant, str(key), incoming, replaced, self.measure_usage)
        yield
        quota.wrote(key.tenant, incoming - replaced)

    def _replaced_size(self, key: ObjectKey) -> int:
        try:
            return self._size(key)
        except ObjectNotFoundError:  # nothing is replaced
            return 0

    def _forget(self, tenant: str) -> None:
        if self._quota is not None:
            self._quota.forget(tenant)

    def _object(self, key: ObjectKey) -> ObjectKey:
        key = _checked(key)
        if key.is_prefix_only:
            raise InvalidObjectKeyError(
                f"{key} is tenant {key.tenant!r}'s whole prefix, not an object key: add parts, e.g. "
                f"tenant_key({key.tenant!r}, 'reports', 'file.csv')"
            )
        return key


def _checked(key: object) -> ObjectKey:
    if not isinstance(key, ObjectKey):
        shown = repr(key) if isinstance(key, str) else type(key).__name__
        raise InvalidObjectKeyError(
            f"object stores take ObjectKey values, not {shown}: build keys with tenant_key(slug, *parts) "
            "so they stay inside the tenant's prefix"
        )
    return key


def _as_bytes(key: ObjectKey, data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise InvalidInputError(
        f"cannot store a {type(data).__name__} at {key}: pass bytes (encode text first, e.g. "
        "text.encode('utf-8'))"
    )
