"""Which rows an entity has and in which order, without materialising them.

Rows are numbered by *index* (``id = index + 1``). The base rows ``0 .. base_count-1`` have
``updated_at = BASE + index * STEP``. Simulated activity writes a log: an appended row or a touched row
gets ``updated_at = current maximum + STEP`` and moves to the end of the log. The served order, sorted by
``(updated_at, id)``, is therefore: the untouched base rows by index, then the log in order. Finding a
page (with or without an ``updated_at > cursor`` filter) costs O(log n) in the number of touched rows.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: ``updated_at`` of base row 0: 2024-01-01T00:00:00Z, in epoch milliseconds.
BASE_MS = 1_704_067_200_000
#: Distance between consecutive ``updated_at`` values: one minute.
STEP_MS = 60_000


def base_updated_ms(index: int) -> int:
    """``updated_at`` (epoch ms) of a base row that was never touched."""
    return BASE_MS + index * STEP_MS


@dataclass(frozen=True)
class RowRef:
    """One row to render: its index, version (times touched) and ``updated_at`` in epoch ms."""

    index: int
    version: int
    updated_ms: int


@dataclass(frozen=True)
class PageSlice:
    """The rows of one page: contiguous runs of untouched base rows, then rows from the log."""

    total: int  # rows matching the filter, over all pages
    runs: tuple[tuple[int, int], ...]  # [start, stop) index ranges of untouched base rows
    log_rows: tuple[RowRef, ...]

    @property
    def size(self) -> int:
        """Number of rows on this page."""
        return sum(stop - start for start, stop in self.runs) + len(self.log_rows)


class EntityTimeline:
    """The mutable row set of one (tenant, entity): base rows plus the activity log."""

    def __init__(self, base_count: int) -> None:
        self.base_count = base_count
        self.appended = 0
        self.max_updated_ms = base_updated_ms(base_count - 1)
        self._touched: list[int] = []  # sorted base indices that moved into the log
        self._log: dict[int, RowRef] = {}  # insertion order == updated_at order
        self._records: dict[int, dict[str, Any]] = {}  # explicit content (created through the API)
        self._log_list: list[RowRef] | None = None
        self._log_updated: list[int] | None = None

    @property
    def count(self) -> int:
        """Number of rows (base + appended)."""
        return self.base_count + self.appended

    @property
    def records(self) -> Mapping[int, dict[str, Any]]:
        """Rows whose content was given explicitly (created through the API), by index."""
        return self._records

    def locate(self, index: int) -> RowRef | None:
        """The row at ``index``, or None when it does not exist."""
        ref = self._log.get(index)
        if ref is not None:
            return ref
        if 0 <= index < self.base_count:
            return RowRef(index, 0, base_updated_ms(index))
        return None

    def append(self, record: dict[str, Any] | None = None) -> RowRef:
        """Add one row after the current maximum ``updated_at``; ``record`` gives explicit content."""
        index = self.count
        self.appended += 1
        self.max_updated_ms += STEP_MS
        ref = RowRef(index, 0, self.max_updated_ms)
        self._log[index] = ref
        if record is not None:
            self._records[index] = record
        self._invalidate()
        return ref

    def touch(self, index: int) -> RowRef:
        """Mark an existing row as changed: new version, ``updated_at`` after the current maximum."""
        previous = self.locate(index)
        if previous is None:
            raise IndexError(index)
        if index < self.base_count and index not in self._log:
            insort(self._touched, index)
        self._log.pop(index, None)
        self.max_updated_ms += STEP_MS
        ref = RowRef(index, previous.version + 1, self.max_updated_ms)
        self._log[index] = ref
        self._invalidate()
        return ref

    def slice(self, after_ms: int | None, offset: int, limit: int) -> PageSlice:
        """Rows ``offset .. offset+limit-1`` of those with ``updated_at > after_ms`` (all when None)."""
        first = 0 if after_ms is None else min(max((after_ms - BASE_MS) // STEP_MS + 1, 0), self.base_count)
        touched = self._touched
        t_first = bisect_left(touched, first)
        base_available = (self.base_count - first) - (len(touched) - t_first)
        log, log_updated = self._ordered_log()
        l_first = 0 if after_ms is None else bisect_right(log_updated, after_ms)
        total = base_available + len(log) - l_first

        runs: list[tuple[int, int]] = []
        if offset < base_available and limit > 0:
            remaining = min(limit, base_available - offset)
            current = self._kth_untouched(first, t_first, offset)
            t_next = bisect_left(touched, current)
            while remaining > 0:
                bound = touched[t_next] if t_next < len(touched) else current + remaining
                take = min(remaining, bound - current)
                runs.append((current, current + take))
                remaining -= take
                current += take
                while t_next < len(touched) and touched[t_next] == current:
                    current += 1
                    t_next += 1
        log_start = l_first + max(0, offset - base_available)
        log_stop = min(len(log), l_first + max(0, offset + limit - base_available))
        return PageSlice(total, tuple(runs), tuple(log[log_start:log_stop]))

    def _kth_untouched(self, first: int, t_first: int, k: int) -> int:
        """Index of the k-th (0-based) untouched base row at or after ``first``."""
        index = first + k
        while True:
            candidate = first + k + bisect_right(self._touched, index) - t_first
            if candidate == index:
                return index
            index = candidate

    def _ordered_log(self) -> tuple[list[RowRef], list[int]]:
        if self._log_list is None or self._log_updated is None:
            self._log_list = list(self._log.values())
            self._log_updated = [ref.updated_ms for ref in self._log_list]
        return self._log_list, self._log_updated

    def _invalidate(self) -> None:
        self._log_list = None
        self._log_updated = None
