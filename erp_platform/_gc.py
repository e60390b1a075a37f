"""Fewer cyclic garbage-collector passes while a bulk read allocates and frees many containers.

An extract allocates and frees about a thousand record dicts per page. With CPython's default threshold (700
net new containers) the collector runs several young-generation passes per page, about a tenth of the
extract's CPU time, although records hold no reference cycles (they are freed by reference counting).
:func:`fewer_gc_passes` raises the young-generation threshold while a bulk read runs and restores it when the
last one ends; the collector still runs, only less often, so cyclic garbage is still collected.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Young-generation threshold while a bulk read runs (net new containers between passes).
BULK_GEN0_THRESHOLD = 50_000


class _Threshold:
    """The process's bulk blocks in progress and the threshold to restore when the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.saved: tuple[int, int, int] | None = None

    def enter(self, gen0: int) -> None:
        with self.lock:
            if self.active == 0:
                self.saved = gc.get_threshold()
                if self.saved[0] != 0 and self.saved[0] < gen0:
                    gc.set_threshold(gen0, *self.saved[1:])
            self.active += 1

    def leave(self) -> None:
        with self.lock:
            self.active -= 1
            if self.active == 0 and self.saved is not None:
                gc.set_threshold(*self.saved)
                self.saved = None


_THRESHOLD = _Threshold()


@contextmanager
def fewer_gc_passes(gen0: int = BULK_GEN0_THRESHOLD) -> Iterator[None]:
    """Raise the collector's young-generation threshold to at least ``gen0`` inside the block.

    Safe to nest and to use from several threads at once: the threshold in force before the first block
    began is restored when the last one ends. A threshold set to 0 (collector disabled) stays 0.
    """
    _THRESHOLD.enter(gen0)
    try:
        yield
    finally:
        _THRESHOLD.leave()
