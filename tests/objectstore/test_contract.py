"""One contract, two backends: every test here runs against the local folder store and S3 (moto server)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from erp_platform._errors import InvalidInputError
from erp_platform.objectstore import (
    InvalidObjectKeyError,
    ObjectExistsError,
    ObjectKey,
    ObjectNotFoundError,
    ObjectStore,
    activity_output_key,
    sdk_artifact_key,
    tenant_key,
    tenant_prefix,
)
from tests.objectstore.conftest import PART_BYTES
from tests.objectstore.test_keys import BAD_PARTS


def big_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in chunks; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = os.urandom(min(left, 1024 * 1024))
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# -- bytes ----------------------------------------------------------------------------------------------
def test_put_get_size_exists_delete(store: ObjectStore, slug: str) -> None:
    key = tenant_key(slug, "reports", "q1.csv")
    assert not store.exists(key)
    store.put_bytes(key, b"id,total\n1,10\n")
    assert store.exists(key)
    assert store.get_bytes(key) == b"id,total\n1,10\n"
    assert store.size(key) == 14
    store.put_bytes(key, bytearray(b"replaced"))
    assert store.get_bytes(key) == b"replaced"
    store.put_bytes(key, memoryview(b""))
    assert (store.get_bytes(key), store.size(key)) == (b"", 0)
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting a missing object is fine


def test_put_new_never_overwrites(store: ObjectStore, slug: str) -> None:
    key = activity_output_key(slug, "run-1", "orders", 1)
    store.put_new(key, b"first")
    with pytest.raises(ObjectExistsError) as err:
        store.put_new(key, b"second")
    assert str(err.value) == (
        f"object tenants/{slug}/executions/run-1/activities/orders/attempt-1.parquet already exists and is "
        "never overwritten (activity outputs are written once per attempt): write a new key, e.g. the next "
        "attempt number"
    )
    assert store.get_bytes(key) == b"first"
    store.put_new(activity_output_key(slug, "run-1", "orders", 2), b"second")
    assert store.get_bytes(activity_output_key(slug, "run-1", "orders", 2)) == b"second"


@pytest.mark.parametrize("call", [
    lambda s, k, _: s.get_bytes(k),
    lambda s, k, _: s.size(k),
    lambda s, k, target: s.get_file(k, target),
])
def test_missing_objects(store: ObjectStore, slug: str, tmp_path: Path,
                         call: Callable[[ObjectStore, ObjectKey, Path], object]) -> None:
    key = tenant_key(slug, "missing.bin")
    target = tmp_path / "down" / "never-written"
    with pytest.raises(ObjectNotFoundError) as err:
        call(store, key, target)
    assert str(err.value).startswith(f"no object at tenants/{slug}/missing.bin")
    assert str(err.value).endswith(": check the key, or list its prefix")
    assert not target.exists()


# -- files -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("new", [False, True])
def test_put_file_and_get_file_round_trip_large_files(store: ObjectStore, slug: str, tmp_path: Path,
                                                      new: bool) -> None:
    source = tmp_path / "source.parquet"
    digest = big_file(source, 2 * PART_BYTES + 12345)  # three S3 parts
    key = sdk_artifact_key(slug, "sap_s4", 1, "module.wasm")
    store.put_file(key, source, new=new)
    assert store.size(key) == source.stat().st_size
    target = tmp_path / "down" / "module.wasm"
    assert store.get_file(key, target) == target
    assert sha256_of(target) == digest
    assert sorted(p.name for p in target.parent.iterdir()) == ["module.wasm"]  # no temp file left


def test_put_file_new_refuses_a_taken_key(store: ObjectStore, slug: str, tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(b"x")
    big_file(large, PART_BYTES + 1)
    key = tenant_key(slug, "once.bin")
    store.put_bytes(key, b"original")
    for source in (small, large):
        with pytest.raises(ObjectExistsError):
            store.put_file(key, source, new=True)
    assert store.get_bytes(key) == b"original"


def test_get_file_replaces_an_existing_target(store: ObjectStore, slug: str, tmp_path: Path) -> None:
    key = tenant_key(slug, "a.txt")
    store.put_bytes(key, b"new content")
    target = tmp_path / "a.txt"
    target.write_bytes(b"old content that is longer")
    store.get_file(key, target)
    assert target.read_bytes() == b"new content"


def test_put_file_needs_a_file(store: ObjectStore, slug: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as err:
        store.put_file(tenant_key(slug, "x"), tmp_path / "nope")
    assert str(err.value) == (
        f"cannot upload {tmp_path / 'nope'} to tenants/{slug}/x: it is not a readable file"
    )


# -- prefixes --------------------------------------------------------------------------------------------
def test_list_and_delete_prefix_treat_the_prefix_as_a_folder(store: ObjectStore, slug: str) -> None:
    for path in ("executions/r1/a.parquet", "executions/r1/sub/b.parquet", "executions/r10/c.parquet",
                 "sdks/x/v1/module.wasm"):
        store.put_bytes(tenant_key(slug, path), b"1")
    r1 = tenant_key(slug, "executions", "r1")
    assert [k.path for k in store.list(r1)] == [
        f"tenants/{slug}/executions/r1/a.parquet", f"tenants/{slug}/executions/r1/sub/b.parquet"]
    assert len(store.list(tenant_prefix(slug))) == 4
    assert store.list(tenant_key(slug, "nothing", "here")) == []
    assert store.delete_prefix(r1) == 2
    assert [k.path for k in store.list(tenant_prefix(slug))] == [
        f"tenants/{slug}/executions/r10/c.parquet", f"tenants/{slug}/sdks/x/v1/module.wasm"]
    assert store.delete_prefix(r1) == 0
    assert store.purge_tenant(slug) == 2
    assert store.list(tenant_prefix(slug)) == []


def test_listed_keys_are_usable_keys(store: ObjectStore, slug: str) -> None:
    store.put_bytes(tenant_key(slug, "a/b/c.txt"), b"abc")
    [key] = store.list(tenant_prefix(slug))
    assert key == tenant_key(slug, "a", "b", "c.txt")
    assert store.get_bytes(key) == b"abc"


# -- refusing what is not a key ------------------------------------------------------------------------------
METHODS: list[Callable[[ObjectStore, object], object]] = [
    lambda s, k: s.put_bytes(k, b"x"),  # type: ignore[arg-type]
    lambda s, k: s.put_new(k, b"x"),  # type: ignore[arg-type]
    lambda s, k: s.get_bytes(k),  # type: ignore[arg-type]
    lambda s, k: s.exists(k),  # type: ignore[arg-type]
    lambda s, k: s.size(k),  # type: ignore[arg-type]
    lambda s, k: s.delete(k),  # type: ignore[arg-type]
    lambda s, k: s.list(k),  # type: ignore[arg-type]
    lambda s, k: s.delete_prefix(k),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("method", METHODS)
def test_plain_strings_are_refused(store: ObjectStore, slug: str, method: Callable[..., object]) -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        method(store, f"tenants/{slug}/x")
    assert str(err.value) == (
        f"object stores take ObjectKey values, not 'tenants/{slug}/x': build keys with tenant_key(slug, "
        "*parts) so they stay inside the tenant's prefix"
    )


@pytest.mark.parametrize("method", METHODS[:6])
def test_a_tenant_prefix_is_not_an_object(store: ObjectStore, slug: str,
                                          method: Callable[..., object]) -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        method(store, tenant_prefix(slug))
    assert str(err.value) == (
        f"tenants/{slug} is tenant {slug!r}'s whole prefix, not an object key: add parts, e.g. "
        f"tenant_key({slug!r}, 'reports', 'file.csv')"
    )


def test_data_must_be_bytes(store: ObjectStore, slug: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        store.put_bytes(tenant_key(slug, "x.txt"), "text")  # type: ignore[arg-type]
    assert str(err.value) == (
        f"cannot store a str at tenants/{slug}/x.txt: pass bytes (encode text first, e.g. "
        "text.encode('utf-8'))"
    )


@pytest.mark.parametrize(("part", "message"), BAD_PARTS)
def test_traversal_table(store: ObjectStore, slug: str, part: str, message: str) -> None:
    """Each bad key is refused with its exact message, and nothing is written anywhere."""
    with pytest.raises(InvalidObjectKeyError) as err:
        store.put_bytes(tenant_key(slug, part), b"x")
    assert str(err.value) == f"invalid object key for tenant {slug!r}: {message}"
    assert store.list(tenant_prefix(slug)) == []


# -- isolation -------------------------------------------------------------------------------------------
def test_one_tenant_cannot_address_another(store: ObjectStore, slug: str) -> None:
    a, b = slug, f"{slug}_two"  # B's slug starts with A's: prefixes must still not overlap
    secret = tenant_key(b, "secret.txt")
    store.put_bytes(secret, b"B's data")
    store.put_bytes(tenant_key(a, "mine.txt"), b"A's data")

    lookalike = tenant_key(a, "tenants", b, "secret.txt")  # the nearest A can get: still inside A
    assert lookalike.path == f"tenants/{a}/tenants/{b}/secret.txt"
    assert not store.exists(lookalike)
    with pytest.raises(ObjectNotFoundError):
        store.get_bytes(lookalike)
    for part in (f"../{b}/secret.txt", f"/tenants/{b}/secret.txt", f"..\\{b}\\secret.txt"):
        with pytest.raises(InvalidObjectKeyError):
            tenant_key(a, part)

    assert [k.path for k in store.list(tenant_prefix(a))] == [f"tenants/{a}/mine.txt"]
    assert store.delete_prefix(tenant_prefix(a)) == 1
    assert store.get_bytes(secret) == b"B's data"
