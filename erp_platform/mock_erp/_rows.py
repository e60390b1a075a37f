"""JSON rows of one ERP tenant: base rows from a chunk cache, activity rows generated on demand."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from erp_platform.mock_erp._entities import DateFormat, EntitySpec, Kind
from erp_platform.mock_erp._generate import RenderedRows, RowGenerator, rows_frame
from erp_platform.mock_erp._timeline import PageSlice, RowRef

#: Base rows are generated in chunks of this many rows: polars costs ~10 us per expression whatever
#: the frame size, so one chunk of 4,096 rows costs about as much as a page of 1,000 would on its own.
CHUNK_ROWS = 4096

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_from_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with a Z, to the second (``2024-01-01T00:00:00Z``)."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms_from_iso(text: str) -> int:
    """ISO 8601 date or timestamp (a naive one is UTC) as epoch milliseconds; ValueError if invalid."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


Segment = bytes | memoryview
"""Consecutive rows as ``{...},{...}``: a page is its segments joined by commas."""

_ChunkKey = tuple[str, str, DateFormat, int]


class ChunkCache:
    """A bounded LRU of rendered base-row chunks, shared by the tenants of one server."""

    def __init__(self, max_chunks: int = 32) -> None:
        self._max = max_chunks
        self._chunks: OrderedDict[_ChunkKey, RenderedRows] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _ChunkKey) -> RenderedRows | None:
        """A cached chunk (now the most recently used), or None."""
        with self._lock:
            rows = self._chunks.get(key)
            if rows is not None:
                self._chunks.move_to_end(key)
            return rows

    def put(self, key: _ChunkKey, rows: RenderedRows) -> None:
        """Cache a chunk, evicting the least recently used beyond the bound."""
        with self._lock:
            self._chunks[key] = rows
            self._chunks.move_to_end(key)
            while len(self._chunks) > self._max:
                self._chunks.popitem(last=False)


class RowSource:
    """Renders the rows of a :class:`PageSlice` of one ERP tenant as JSON segments."""

    def __init__(
        self, seed: int, tenant: str, counts: Mapping[str, int], cache: ChunkCache | None = None
    ) -> None:
        self._tenant = tenant
        self._counts = dict(counts)
        self._generator = RowGenerator(seed, tenant, counts)
        self._cache = cache

    def page(
        self, spec: EntitySpec, fmt: DateFormat, page: PageSlice, records: Mapping[int, dict[str, Any]]
    ) -> list[Segment]:
        """The page's rows in order: base runs, then log rows (explicit records rendered from dicts)."""
        out: list[Segment] = []
        for start, stop in page.runs:
            out.extend(self._base(spec, fmt, start, stop))
        pending: list[RowRef] = []
        for ref in page.log_rows:
            record = records.get(ref.index)
            if record is None:
                pending.append(ref)
                continue
            if pending:
                out.append(self.rows(spec, fmt, pending).blob)
                pending = []
            out.append(render_record(spec, fmt, record, ref.updated_ms).encode())
        if pending:
            out.append(self.rows(spec, fmt, pending).blob)
        return out

    def rows(self, spec: EntitySpec, fmt: DateFormat, refs: Sequence[RowRef]) -> RenderedRows:
        """Generated rows for explicit refs (not cached)."""
        return self._generator.render(spec, rows_frame((), refs), fmt)

    def _base(self, spec: EntitySpec, fmt: DateFormat, start: int, stop: int) -> list[Segment]:
        if self._cache is None:
            return [self._generator.render(spec, rows_frame(((start, stop),)), fmt).blob]
        out: list[Segment] = []
        base_count = self._counts[spec.name]
        for chunk in range(start // CHUNK_ROWS, (stop - 1) // CHUNK_ROWS + 1):
            first = chunk * CHUNK_ROWS
            key = (self._tenant, spec.name, fmt, chunk)
            rows = self._cache.get(key)
            if rows is None:
                last = min(first + CHUNK_ROWS, base_count)
                rows = self._generator.render(spec, rows_frame(((first, last),)), fmt)
                self._cache.put(key, rows)
            out.append(rows.segment(max(start, first) - first, min(stop, first + CHUNK_ROWS) - first))
        return out


def json_array(segments: Sequence[Segment]) -> list[Segment]:
    """The parts of a JSON array of the segments' rows (join them with ``b"".join``)."""
    parts: list[Segment] = [b"["]
    for n, segment in enumerate(segments):
        if n:
            parts.append(b",")
        parts.append(segment)
    parts.append(b"]")
    return parts


def render_record(spec: EntitySpec, fmt: DateFormat, record: Mapping[str, Any], updated_ms: int) -> str:
    """An explicit record (REST form) with its current ``updated_at``, in the field order of ``spec``."""
    out: dict[str, Any] = {}
    for field in spec.fields:
        value = iso_from_ms(updated_ms) if field.name == "updated_at" else record.get(field.name)
        if fmt is DateFormat.DOTNET and value is not None and field.kind in (Kind.DATETIME, Kind.DATE):
            value = f"/Date({ms_from_iso(value)})/"
        out[field.name] = value
    return orjson.dumps(out).decode()
