"""Storage quotas on both stores: every write path is metered, one tenant filling its quota blocks only itself.

Limits here are a few KB (the platform's come from ``max_storage_gb``; the arithmetic is the same).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from erp_platform.objectstore import (
    ObjectStore,
    StorageQuota,
    StorageQuotaExceededError,
    human_bytes,
    tenant_key,
)

LIMIT = 10_000


def other_slug() -> str:
    return f"obj_{secrets.token_hex(4)}"


@pytest.fixture
def limits() -> dict[str, int | None]:
    return {}


@pytest.fixture
def quota(store: ObjectStore, limits: dict[str, int | None]) -> StorageQuota:
    quota = StorageQuota(lambda tenant: limits.get(tenant, LIMIT))
    store.enforce_quota(quota)
    return quota


def test_writes_up_to_the_limit_pass_and_the_next_one_is_refused_whole(
    store: ObjectStore, quota: StorageQuota, slug: str, tmp_path: Path
) -> None:
    store.put_bytes(tenant_key(slug, "a.bin"), b"x" * 4_000)
    store.put_new(tenant_key(slug, "executions", "r1", "b.parquet"), b"x" * 4_000)
    big = tmp_path / "component.wasm"
    big.write_bytes(b"x" * 2_001)
    with pytest.raises(StorageQuotaExceededError) as caught:
        store.put_file(tenant_key(slug, "sdks", "erp", "v2", "component.wasm"), big)
    assert str(caught.value) == (
        f"tenant {slug!r} is over its storage quota: writing tenants/{slug}/sdks/erp/v2/component.wasm "
        f"(2.0 KB) would bring its objects to 9.8 KB, past its limit of 9.8 KB (max_storage_gb); it stores "
        f"7.8 KB now. Delete what it no longer needs: the artifacts of old SDK versions with "
        f"`erp sdk prune {slug} SDK --keep N` (revoke unused versions first with `erp sdk revoke {slug} SDK "
        f"VERSION`), or raise the limit with `erp tenant set-quota {slug} --max-storage-gb N`"
    )
    assert not store.exists(tenant_key(slug, "sdks", "erp", "v2", "component.wasm"))
    with pytest.raises(StorageQuotaExceededError):
        store.put_new(tenant_key(slug, "c.bin"), b"x" * 2_001)
    with pytest.raises(StorageQuotaExceededError):
        store.put_bytes(tenant_key(slug, "c.bin"), b"x" * 2_001)
    store.put_bytes(tenant_key(slug, "c.bin"), b"x" * 2_000)  # exactly the limit is allowed
    assert store.usage(slug).used_bytes == LIMIT
    assert store.usage(slug).limit_bytes == LIMIT


def test_replacing_an_object_counts_only_the_difference(
    store: ObjectStore, quota: StorageQuota, slug: str
) -> None:
    key = tenant_key(slug, "executions", "r1", "pages", "part-1.parquet")
    store.put_bytes(key, b"x" * 9_000)
    store.put_bytes(key, b"y" * 9_500)  # replaces 9,000 bytes: 9,500 in all
    assert store.usage(slug, fresh=False).used_bytes == 9_500
    assert store.usage(slug).used_bytes == 9_500


def test_deleting_frees_room(store: ObjectStore, quota: StorageQuota, slug: str) -> None:
    store.put_bytes(tenant_key(slug, "sdks", "erp", "v1", "component.wasm"), b"x" * 9_000)
    with pytest.raises(StorageQuotaExceededError):
        store.put_bytes(tenant_key(slug, "sdks", "erp", "v2", "component.wasm"), b"x" * 9_000)
    assert store.delete_prefix(tenant_key(slug, "sdks", "erp", "v1")) == 1
    store.put_bytes(tenant_key(slug, "sdks", "erp", "v2", "component.wasm"), b"x" * 9_000)
    store.delete(tenant_key(slug, "sdks", "erp", "v2", "component.wasm"))
    store.put_bytes(tenant_key(slug, "sdks", "erp", "v3", "component.wasm"), b"x" * 9_000)
    assert store.usage(slug).used_bytes == 9_000


def test_objects_written_by_another_process_count_once_the_total_is_recomputed(
    store: ObjectStore, slug: str, tmp_path: Path, limits: dict[str, int | None]
) -> None:
    """Two processes share the store: each near-limit write measures the tenant again before refusing."""
    mine, theirs = StorageQuota(lambda _t: LIMIT), StorageQuota(lambda _t: LIMIT)
    store.enforce_quota(mine)
    store.put_bytes(tenant_key(slug, "mine.bin"), b"x" * 6_000)
    store.enforce_quota(theirs)  # the other process starts after that write, and deletes it
    store.delete(tenant_key(slug, "mine.bin"))
    store.enforce_quota(mine)  # mine still has 6,000 bytes in its running total
    store.put_bytes(tenant_key(slug, "again.bin"), b"x" * 9_000)  # near the limit: measured again
    assert store.usage(slug).used_bytes == 9_000


def test_tenant_a_filling_its_quota_does_not_block_b(
    store: ObjectStore, quota: StorageQuota, slug: str, limits: dict[str, int | None]
) -> None:
    b = other_slug()
    store.put_bytes(tenant_key(slug, "fill.bin"), b"x" * LIMIT)
    with pytest.raises(StorageQuotaExceededError, match=f"tenant {slug!r} is over its storage quota"):
        store.put_bytes(tenant_key(slug, "one-more.bin"), b"x")
    store.put_bytes(tenant_key(b, "fine.bin"), b"x" * LIMIT)  # B's quota is its own
    assert store.usage(b).used_bytes == LIMIT
    assert store.usage(slug).used_bytes == LIMIT
    limits[b] = None  # no limit for B: nothing is refused
    other = StorageQuota(lambda tenant: limits.get(tenant, LIMIT))
    store.enforce_quota(other)
    store.put_bytes(tenant_key(b, "more.bin"), b"x" * LIMIT)
    assert store.usage(b).limit_bytes is None


def test_a_tenant_with_a_zero_quota_can_write_nothing(
    store: ObjectStore, slug: str, limits: dict[str, int | None]
) -> None:
    store.enforce_quota(StorageQuota(lambda _t: 0))
    with pytest.raises(StorageQuotaExceededError, match=r"past its limit of 0 B \(max_storage_gb\)"):
        store.put_new(tenant_key(slug, "x.bin"), b"x")
    assert store.list(tenant_key(slug)) == []


def test_check_room_refuses_a_group_of_writes_before_the_first(
    store: ObjectStore, quota: StorageQuota, slug: str
) -> None:
    store.check_room(slug, LIMIT, "SDK erp v1 artifacts")
    with pytest.raises(StorageQuotaExceededError, match=r"writing SDK erp v1 artifacts \(9.8 KB\)"):
        store.check_room(slug, LIMIT + 1, "SDK erp v1 artifacts")


def test_usage_without_a_quota_is_measured_and_has_no_limit(store: ObjectStore, slug: str) -> None:
    store.put_bytes(tenant_key(slug, "a", "b.bin"), b"x" * 1_500)
    store.put_bytes(tenant_key(other_slug(), "b.bin"), b"x" * 5_000)  # another tenant's bytes never count
    usage = store.usage(slug)
    assert (usage.used_bytes, usage.limit_bytes, usage.summary) == (1_500, None, "1.5 KB (no limit)")


@pytest.mark.parametrize(("value", "shown"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1 KB"), (1536, "1.5 KB"), (40 * 1024**2, "40 MB"),
    (1024**3, "1 GB"), (int(1.1 * 1024**3), "1.1 GB"), (3 * 1024**4, "3 TB"),
])
def test_human_bytes(value: int, shown: str) -> None:
    assert human_bytes(value) == shown
