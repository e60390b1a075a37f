"""copy_frame against the real Postgres: every chunk arrives in order, values round-trip, errors surface."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import psycopg
import pytest

from erp_platform.loader import _copy
from erp_platform.loader._copy import copy_frame

DDL = "CREATE TEMP TABLE copied (id bigint PRIMARY KEY, label text, amount numeric(12,2), at timestamptz, day date)"


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection[object]]:
    with psycopg.connect(pg_url) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        connection.execute(DDL)
        yield connection


def frame(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "id": list(range(n)),
        "label": [None if i % 7 == 0 else "" if i % 7 == 1 else f'say "hi", #{i}\n' for i in range(n)],
        "amount": pl.Series([Decimal(i) / 4 for i in range(n)], dtype=pl.Decimal(12, 2)),
        "at": [datetime(2024, 1, 1, tzinfo=UTC)] * n,
        "day": [date(2024, 2, 29)] * n,
    })


def test_every_chunk_arrives_once_in_order_with_its_values(conn: psycopg.Connection[object]) -> None:
    data = frame(1_003)
    copy_frame(conn, "copied", data.columns, data, chunk_rows=10)  # 101 chunks, several encoded ahead
    rows = conn.execute("SELECT id, label, amount, at, day FROM copied ORDER BY id").fetchall()
    assert rows == list(data.rows())
    assert conn.execute("SELECT count(*) FILTER (WHERE label IS NULL), count(*) FILTER (WHERE label = '') "
                        "FROM copied").fetchone() == (144, 144)


def test_columns_are_sent_in_the_order_named(conn: psycopg.Connection[object]) -> None:
    data = frame(3).select("day", "at", "amount", "label", "id")
    copy_frame(conn, "copied", ["id", "label", "amount", "at", "day"], data)
    assert conn.execute("SELECT id, day FROM copied ORDER BY id").fetchall() == [(i, date(2024, 2, 29))
                                                                               for i in range(3)]


def test_an_empty_frame_copies_nothing(conn: psycopg.Connection[object]) -> None:
    copy_frame(conn, "copied", ["id"], frame(0))
    assert conn.execute("SELECT count(*) FROM copied").fetchone() == (0,)


def test_a_row_the_server_refuses_fails_the_copy(conn: psycopg.Connection[object]) -> None:
    data = pl.concat([frame(5), frame(995).with_columns(pl.col("id") + 4)])  # id 4 twice, in the first chunk
    with pytest.raises(psycopg.errors.UniqueViolation, match="copied_pkey"):
        copy_frame(conn, "copied", data.columns, data, chunk_rows=5)
    conn.rollback()


def test_an_encoding_error_fails_the_copy_and_stops_encoding(conn: psycopg.Connection[object],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[int] = []
    lock = threading.Lock()

    def broken(data: pl.DataFrame, offset: int, rows: int) -> bytes:
        with lock:
            encoded.append(offset)
        if offset == 10:
            raise pl.exceptions.ComputeError(f"cannot encode rows from {offset}")
        return b""

    monkeypatch.setattr(_copy, "_csv", broken)
    with pytest.raises(pl.exceptions.ComputeError, match="cannot encode rows from 10"):
        copy_frame(conn, "copied", ["id"], frame(1_000), chunk_rows=5)
    assert len(encoded) <= 3 + _copy.AHEAD + 1  # the failed chunk and what was queued, not all 200
    conn.rollback()
    assert conn.execute("SELECT to_regclass('pg_temp.copied')").fetchone() == (None,)  # rolled back
