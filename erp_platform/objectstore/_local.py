"""Objects as files under a local folder: atomic writes, race-safe ``put_new``, confined paths."""

from __future__ import annotations

import builtins
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from erp_platform._errors import ObjectStoreError, TenantIsolationError
from erp_platform.objectstore._errors import object_exists, object_not_found
from erp_platform.objectstore._keys import TENANTS_FOLDER, ObjectKey, key_from_stored_path
from erp_platform.objectstore._store import ObjectStore

CHUNK_BYTES = 1024 * 1024
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS)


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root`` (``root/tenants/<slug>/...``).

    Writes go to a hidden temp file in the target folder, are fsynced, then renamed into place, so a
    reader sees the old or the new object, never half of one. ``put_new`` publishes with ``os.link``,
    which fails if the name exists, so concurrent writers cannot overwrite each other. Every path is
    resolved and must stay inside its tenant's folder (a symlink pointing elsewhere is refused).
    A key cannot be both an object and a folder of objects here (S3 allows it; the platform's layouts
    never need it).
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).expanduser().resolve()
        try:
            (self._root / TENANTS_FOLDER).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot create the object store folder {self._root / TENANTS_FOLDER}: {exc.strerror}; "
                "check ERP_OBJECT_STORE_URL (or ERP_HOME) and the folder's permissions"
            ) from exc

    def __repr__(self) -> str:
        return f"LocalObjectStore(root={str(self._root)!r})"

    @property
    def root(self) -> Path:
        return self._root

    def path_of(self, key: ObjectKey) -> Path:
        """The checked file path of ``key`` (resolved; inside the tenant's folder)."""
        tenant_dir = (self._root / TENANTS_FOLDER).resolve() / key.tenant
        resolved = tenant_dir.joinpath(*key.segments).resolve()
        if resolved != tenant_dir and not resolved.is_relative_to(tenant_dir):
            raise TenantIsolationError(
                f"object key {key} resolves to {resolved}, outside tenant {key.tenant!r}'s folder "
                f"{tenant_dir}: a symlink in the store points elsewhere; remove it"
            )
        return resolved

    # -- writes -------------------------------------------------------------------------------------
    def _put_bytes(self, key: ObjectKey, data: bytes, *, new: bool) -> None:
        self._publish(key, lambda out: out.write(data), new=new)

    def _put_file(self, key: ObjectKey, source: Path, *, new: bool) -> None:
        def copy(out: BinaryIO) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK_BYTES)

        self._publish(key, copy, new=new)

    def _publish(self, key: ObjectKey, write: Callable[[BinaryIO], object], *, new: bool) -> None:
        path = self.path_of(key)
        with _mapped(key, "write"):
            path.parent.mkdir(parents=True, exist_ok=True)
            with _temp_file(path.parent, path.name, write) as temp:
                if new:
                    try:
                        os.link(temp, path)
                    except FileExistsError:
                        raise object_exists(key) from None
                    except OSError as exc:
                        if exc.errno not in _NO_LINKS:
                            raise
                        raise ObjectStoreError(
                            f"cannot publish {key} without overwriting: the filesystem of {self._root} does "
                            "not support hard links; put the object store on a local disk"
                        ) from exc
                else:
                    os.replace(temp, path)
            _fsync_dir(path.parent)

    # -- reads --------------------------------------------------------------------------------------
    def _get_file(self, key: ObjectKey, target: Path) -> None:
        path = self.path_of(key)
        with _mapped(key, "read"), path.open("rb") as src:
            def copy(out: BinaryIO) -> None:
                shutil.copyfileobj(src, out, CHUNK_BYTES)

            with _temp_file(target.parent, target.name, copy) as temp:
                os.replace(temp, target)

    def _get_bytes(self, key: ObjectKey) -> bytes:
        path = self.path_of(key)
        with _mapped(key, "read"):
            return path.read_bytes()

    def _exists(self, key: ObjectKey) -> bool:
        return self.path_of(key).is_file()

    def _size(self, key: ObjectKey) -> int:
        path = self.path_of(key)
        with _mapped(key, "read"):
            if path.is_dir():
                raise FileNotFoundError(errno.ENOENT, "is a folder", str(path))
            return path.stat().st_size

    def _list(self, prefix: ObjectKey) -> builtins.list[ObjectKey]:
        return list(self._walk(prefix))

    def _walk(self, prefix: ObjectKey) -> Iterator[ObjectKey]:
        base = self.path_of(prefix)
        if not base.is_dir():
            return
        tenant_dir = (self._root / TENANTS_FOLDER).resolve() / prefix.tenant
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                file = Path(dirpath, name)
                if name.startswith(".") or file.is_symlink():
                    continue  # temp files, and links the store never creates
                stored = f"{TENANTS_FOLDER}/{prefix.tenant}/{file.relative_to(tenant_dir).as_posix()}"
                key = key_from_stored_path(stored)
                if key is not None and key.tenant == prefix.tenant:
                    yield key

    def _usage(self, prefix: ObjectKey) -> int:
        total = 0
        for key in self._walk(prefix):
            with suppress(FileNotFoundError):  # deleted since the listing
                total += self.path_of(key).stat().st_size
        return total

    # -- deletes ------------------------------------------------------------------------------------
    def _delete(self, key: ObjectKey) -> None:
        path = self.path_of(key)
        if path.is_dir():
            return
        with _mapped(key, "delete"):
            path.unlink(missing_ok=True)

    def _delete_prefix(self, prefix: ObjectKey) -> int:
        base = self.path_of(prefix)
        if not base.is_dir():
            return 0
        count = sum(1 for _ in self._walk(prefix))
        with _mapped(prefix, "delete"):
            shutil.rmtree(base)
        return count


@contextmanager
def _temp_file(folder: Path, name: str, write: Callable[[BinaryIO], object]) -> Iterator[Path]:
    """A fsynced hidden temp file in ``folder`` holding what ``write`` wrote; removed afterwards if left."""
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _mapped(key: ObjectKey, op: str) -> Iterator[None]:
    """Turn filesystem errors into store errors that name the key and the fix."""
    try:
        yield
    except IsADirectoryError as exc:
        if op == "write":
            raise ObjectStoreError(
                f"cannot write {key}: it is a folder holding other objects in the local store, and a key "
                "cannot be both an object and a folder there: choose another key"
            ) from exc
        raise object_not_found(key, " (it is a folder)") from None
    except FileNotFoundError as exc:
        if op == "write":
            raise ObjectStoreError(f"cannot write {key}: {exc.strerror} ({exc.filename}); retry") from exc
        raise object_not_found(key) from None
    except (NotADirectoryError, FileExistsError) as exc:
        raise ObjectStoreError(
            f"cannot {op} {key}: a parent of this key is an object itself ({exc.filename}); a key cannot be "
            "both an object and a folder in the local store: choose another key"
        ) from exc
    except PermissionError as exc:
        raise ObjectStoreError(
            f"cannot {op} {key}: permission denied on {exc.filename}; check the object store folder's "
            "owner and permissions"
        ) from exc
