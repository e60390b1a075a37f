"""The object store contract, shared by the local folder and S3 implementations."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType

from erp_platform._errors import InvalidInputError
from erp_platform.objectstore._errors import InvalidObjectKeyError
from erp_platform.objectstore._keys import ObjectKey, tenant_prefix

Data = bytes | bytearray | memoryview


class ObjectStore(ABC):
    """Tenant-prefixed objects. Every method takes :class:`ObjectKey` values (from ``tenant_key``) only.

    ``put_new`` never overwrites (activity outputs are written once per attempt); ``put_file`` and
    ``get_file`` stream large files without reading them into memory. ``list``/``delete_prefix`` treat
    the prefix as a folder: ``tenant_key("acme", "executions", "r1")`` covers ``.../r1/...`` only, never
    ``.../r10/...``. A store is a context manager; ``close`` is idempotent.
    """

    # -- the contract -------------------------------------------------------------------------------
    def put_bytes(self, key: ObjectKey, data: Data) -> None:
        """Write ``data`` at ``key``, replacing any object there (atomically: readers see old or new)."""
        self._put_bytes(self._object(key), _as_bytes(key, data), new=False)

    def put_new(self, key: ObjectKey, data: Data) -> None:
        """Write ``data`` at ``key`` only if no object is there.

        Raises:
            ObjectExistsError: the key is taken (the existing object is left untouched).
        """
        self._put_bytes(self._object(key), _as_bytes(key, data), new=True)

    def put_file(self, key: ObjectKey, path: Path | str, *, new: bool = False) -> None:
        """Stream the file at ``path`` to ``key``; with ``new=True`` fail like :meth:`put_new` if taken."""
        source = Path(path)
        if not source.is_file():
            raise InvalidInputError(f"cannot upload {source} to {key}: it is not a readable file")
        self._put_file(self._object(key), source, new=new)

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
        self._delete(self._object(key))

    def delete_prefix(self, prefix: ObjectKey) -> int:
        """Delete every object below ``prefix`` (a folder); return how many were deleted."""
        return self._delete_prefix(_checked(prefix))

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
