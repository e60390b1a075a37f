"""The local folder store: atomic writes, race-safe put_new, confined paths, streaming."""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path

import pytest

from erp_platform._errors import ObjectStoreError, TenantIsolationError
from erp_platform.objectstore import LocalObjectStore, ObjectExistsError, tenant_key, tenant_prefix


@pytest.fixture
def local(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def test_layout_on_disk(local: LocalObjectStore, tmp_path: Path) -> None:
    key = tenant_key("acme", "sdks", "sap", "v1", "module.wasm")
    local.put_bytes(key, b"\0asm")
    path = tmp_path / "objects" / "tenants" / "acme" / "sdks" / "sap" / "v1" / "module.wasm"
    assert path.read_bytes() == b"\0asm"
    assert local.path_of(key) == path.resolve()
    assert repr(local) == f"LocalObjectStore(root={str((tmp_path / 'objects').resolve())!r})"


def test_writes_leave_no_temp_files_and_temp_files_are_never_listed(local: LocalObjectStore) -> None:
    key = tenant_key("acme", "out", "a.parquet")
    local.put_bytes(key, b"1")
    local.put_new(tenant_key("acme", "out", "b.parquet"), b"2")
    with pytest.raises(ObjectExistsError):
        local.put_new(key, b"3")
    folder = local.path_of(key).parent
    assert sorted(p.name for p in folder.iterdir()) == ["a.parquet", "b.parquet"]
    (folder / ".a.parquet.x1y2.tmp").write_bytes(b"left by a crash")
    (folder / "not a key").write_bytes(b"put there by hand")
    assert [k.path for k in local.list(tenant_prefix("acme"))] == [
        "tenants/acme/out/a.parquet", "tenants/acme/out/b.parquet"]


def test_concurrent_put_new_has_exactly_one_winner(local: LocalObjectStore) -> None:
    key = tenant_key("acme", "executions", "r1", "activities", "orders", "attempt-1.parquet")
    barrier = threading.Barrier(8)
    winners: list[int] = []
    losers: list[int] = []
    other: list[BaseException] = []

    def write(i: int) -> None:
        payload = bytes([i]) * 65536
        barrier.wait()
        try:
            local.put_new(key, payload)
            winners.append(i)
        except ObjectExistsError:
            losers.append(i)
        except BaseException as exc:
            other.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other == []
    assert len(winners) == 1 and len(losers) == 7
    assert local.get_bytes(key) == bytes([winners[0]]) * 65536  # whole, and the winner's


def test_readers_see_whole_objects_while_a_writer_replaces_them(local: LocalObjectStore) -> None:
    key = tenant_key("acme", "state.bin")
    versions = [bytes([i]) * 200_000 for i in range(1, 6)]
    local.put_bytes(key, versions[0])
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(local.get_bytes(key))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20):
        for data in versions:
            local.put_bytes(key, data)
    done.set()
    reader.join()
    assert seen <= set(versions)  # never a torn mix of two versions


def test_symlink_out_of_the_tenant_folder_is_refused(local: LocalObjectStore, tmp_path: Path) -> None:
    local.put_bytes(tenant_key("bravo", "secret.txt"), b"B's data")
    local.put_bytes(tenant_key("acme", "mine.txt"), b"A's data")
    acme_dir = tmp_path / "objects" / "tenants" / "acme"
    (acme_dir / "link").symlink_to(tmp_path / "objects" / "tenants" / "bravo")
    key = tenant_key("acme", "link", "secret.txt")
    bravo_secret = (tmp_path / "objects" / "tenants" / "bravo" / "secret.txt").resolve()
    with pytest.raises(TenantIsolationError) as err:
        local.get_bytes(key)
    assert str(err.value) == (
        f"object key tenants/acme/link/secret.txt resolves to {bravo_secret}, outside tenant 'acme''s folder "
        f"{acme_dir.resolve()}: a symlink in the store points elsewhere; remove it"
    )
    for call in (lambda: local.put_bytes(key, b"x"), lambda: local.delete(key), lambda: local.exists(key),
                 lambda: local.list(tenant_key("acme", "link"))):
        with pytest.raises(TenantIsolationError):
            call()
    listed = [k.path for k in local.list(tenant_prefix("acme"))]
    assert listed == ["tenants/acme/mine.txt"]  # the link is not followed
    assert local.get_bytes(tenant_key("bravo", "secret.txt")) == b"B's data"


def test_a_tenant_folder_that_is_a_symlink_to_another_tenant_is_refused(local: LocalObjectStore,
                                                                         tmp_path: Path) -> None:
    local.put_bytes(tenant_key("bravo", "secret.txt"), b"B's data")
    tenants = tmp_path / "objects" / "tenants"
    (tenants / "acme").symlink_to(tenants / "bravo")
    with pytest.raises(TenantIsolationError):
        local.get_bytes(tenant_key("acme", "secret.txt"))
    with pytest.raises(TenantIsolationError):
        local.delete_prefix(tenant_prefix("acme"))
    assert local.get_bytes(tenant_key("bravo", "secret.txt")) == b"B's data"


def test_a_key_cannot_be_both_an_object_and_a_folder_here(local: LocalObjectStore) -> None:
    key_a = tenant_key("acme", "a")
    local.put_bytes(key_a, b"object")
    with pytest.raises(ObjectStoreError) as err:
        local.put_bytes(tenant_key("acme", "a", "b"), b"below an object")
    assert str(err.value) == (
        f"cannot write tenants/acme/a/b: a parent of this key is an object itself ({local.path_of(key_a)}); "
        "a key cannot be both an object and a folder in the local store: choose another key"
    )
    local.put_bytes(tenant_key("acme", "f", "x"), b"1")
    with pytest.raises(ObjectStoreError) as err:
        local.put_bytes(tenant_key("acme", "f"), b"over a folder")
    assert str(err.value) == (
        "cannot write tenants/acme/f: it is a folder holding other objects in the local store, and a key "
        "cannot be both an object and a folder there: choose another key"
    )
    assert not local.exists(tenant_key("acme", "f"))
    local.delete(tenant_key("acme", "f"))  # a folder is not an object: nothing to delete
    assert local.exists(tenant_key("acme", "f", "x"))


def test_put_file_and_get_file_stream(local: LocalObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(24):
            out.write(os.urandom(1024 * 1024))
    key = tenant_key("acme", "big.bin")
    tracemalloc.start()
    try:
        local.put_file(key, source)
        local.get_file(key, tmp_path / "copy.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * 1024 * 1024  # 24 MiB moved with a bounded buffer, never read whole
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()


def test_unwritable_root_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ObjectStoreError) as err:
        LocalObjectStore(blocker / "objects")
    assert str(err.value) == (
        f"cannot create the object store folder {blocker / 'objects' / 'tenants'}: Not a directory; check "
        "ERP_OBJECT_STORE_URL (or ERP_HOME) and the folder's permissions"
    )
