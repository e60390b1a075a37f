"""fewer_gc_passes: the young-generation threshold is raised inside bulk reads and restored after the last."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from erp_platform._gc import BULK_GEN0_THRESHOLD, fewer_gc_passes


@pytest.fixture(autouse=True)
def default_threshold() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_threshold_is_raised_inside_and_restored_after() -> None:
    with fewer_gc_passes():
        assert gc.get_threshold() == (BULK_GEN0_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_nested_blocks_restore_only_when_the_outermost_ends() -> None:
    with fewer_gc_passes():
        with fewer_gc_passes():
            pass
        assert gc.get_threshold()[0] == BULK_GEN0_THRESHOLD
    assert gc.get_threshold()[0] == 700


def test_an_error_inside_still_restores_the_threshold() -> None:
    with pytest.raises(RuntimeError), fewer_gc_passes():
        raise RuntimeError("page failed")
    assert gc.get_threshold()[0] == 700


def test_overlapping_blocks_on_threads_restore_after_the_last() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with fewer_gc_passes():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with fewer_gc_passes():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.get_threshold()[0])  # the first block ended: still raised for this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [BULK_GEN0_THRESHOLD]
    assert gc.get_threshold()[0] == 700


def test_a_disabled_or_higher_threshold_is_left_alone() -> None:
    gc.set_threshold(0)
    with fewer_gc_passes():
        assert gc.get_threshold()[0] == 0
    gc.set_threshold(100_000)
    with fewer_gc_passes():
        assert gc.get_threshold()[0] == 100_000
    assert gc.get_threshold()[0] == 100_000


def test_the_collector_still_runs_inside() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    collected_before = sum(s["collections"] for s in gc.get_stats())
    with fewer_gc_passes(gen0=1_000):
        for _ in range(5_000):
            Node()  # reference cycles: only the collector frees them
    assert sum(s["collections"] for s in gc.get_stats()) > collected_before
