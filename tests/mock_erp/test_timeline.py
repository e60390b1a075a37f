"""The timeline's O(log n) paging agrees with a brute-force model under random appends and touches."""

from __future__ import annotations

import random

import pytest

from erp_platform.mock_erp._timeline import BASE_MS, STEP_MS, EntityTimeline, RowRef, base_updated_ms


class Model:
    """The obvious implementation: a list of every row, sorted by (updated_at, index)."""

    def __init__(self, base_count: int) -> None:
        self.rows = {i: RowRef(i, 0, base_updated_ms(i)) for i in range(base_count)}
        self.max = base_updated_ms(base_count - 1)

    def append(self) -> None:
        self.max += STEP_MS
        index = len(self.rows)
        self.rows[index] = RowRef(index, 0, self.max)

    def touch(self, index: int) -> None:
        self.max += STEP_MS
        self.rows[index] = RowRef(index, self.rows[index].version + 1, self.max)

    def ordered(self, after_ms: int | None) -> list[RowRef]:
        rows = sorted(self.rows.values(), key=lambda r: (r.updated_ms, r.index))
        return [r for r in rows if after_ms is None or r.updated_ms > after_ms]


def flatten(
    timeline: EntityTimeline, after_ms: int | None, offset: int, limit: int
) -> tuple[list[RowRef], int]:
    page = timeline.slice(after_ms, offset, limit)
    rows = [RowRef(i, 0, base_updated_ms(i)) for start, stop in page.runs for i in range(start, stop)]
    assert page.size == len(rows) + len(page.log_rows)
    return rows + list(page.log_rows), page.total


@pytest.mark.parametrize("seed", range(8))
def test_slices_match_the_model(seed: int) -> None:
    rng = random.Random(seed)
    base_count = rng.randint(1, 60)
    timeline, model = EntityTimeline(base_count), Model(base_count)
    for _ in range(rng.randint(0, 40)):
        if rng.random() < 0.3:
            timeline.append()
            model.append()
        else:
            index = rng.randrange(timeline.count)
            timeline.touch(index)
            model.touch(index)
    assert timeline.count == len(model.rows)
    assert timeline.max_updated_ms == model.max
    randoms = [rng.randint(BASE_MS - STEP_MS, model.max + STEP_MS) for _ in range(6)]
    cursors = [None, BASE_MS - 1, BASE_MS, *randoms]
    for after_ms in cursors:
        expected = model.ordered(after_ms)
        for offset in range(len(expected) + 2):
            for limit in (1, 2, 3, 7, 1000):
                rows, total = flatten(timeline, after_ms, offset, limit)
                assert total == len(expected)
                assert rows == expected[offset : offset + limit], (after_ms, offset, limit)


def test_touch_moves_a_row_to_the_end() -> None:
    timeline = EntityTimeline(5)
    timeline.touch(1)
    timeline.touch(3)
    timeline.touch(1)
    rows, total = flatten(timeline, None, 0, 10)
    assert [(r.index, r.version) for r in rows] == [(0, 0), (2, 0), (4, 0), (3, 1), (1, 2)]
    assert rows[-1].updated_ms == base_updated_ms(4) + 3 * STEP_MS
    assert total == 5


def test_locate() -> None:
    timeline = EntityTimeline(3)
    appended = timeline.append({"id": 4})
    assert timeline.locate(1) == RowRef(1, 0, base_updated_ms(1))
    assert timeline.locate(3) == appended
    assert timeline.records == {3: {"id": 4}}
    assert timeline.locate(4) is None
    assert timeline.locate(-1) is None
    with pytest.raises(IndexError):
        timeline.touch(4)


def test_a_million_rows_cost_nothing_until_read() -> None:
    timeline = EntityTimeline(5_000_000)
    for index in range(0, 5_000_000, 50_000):
        timeline.touch(index)
    cursor = BASE_MS + 2_500_000 * STEP_MS  # rows from index 2,500,001 on, 49 of them touched
    page = timeline.slice(cursor, 1_000_000, 1000)
    assert page.runs == ((3_500_021, 3_501_021),)  # 20 touched rows skipped before it
    assert page.total == (5_000_000 - 2_500_001 - 49) + 100  # untouched, then every touched row
    crossing = timeline.slice(cursor, 1_049_970, 1000)
    assert crossing.runs == ((3_549_991, 3_550_000), (3_550_001, 3_550_992))
