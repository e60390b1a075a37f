"""Streaming a frame into a table with ``COPY ... FROM STDIN (FORMAT csv)``, chunk by chunk.

CSV rather than binary: polars writes CSV in native code (about 0.4 s per million 10-column rows)
while building binary COPY rows in Python costs far more than Postgres saves parsing them (see
``benchmarks/load.py``). Text values are always quoted, so an empty string stays an empty string and
only an unquoted empty field is NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import psycopg

from erp_platform.db import quote_ident

DEFAULT_CHUNK_ROWS = 50_000


def copy_frame(dbapi: psycopg.Connection[object], table_sql: str, columns: Sequence[str],
               frame: pl.DataFrame, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
    """Append ``frame`` (in ``columns`` order) to ``table_sql`` with COPY, ``chunk_rows`` at a time."""
    column_list = ", ".join(quote_ident(c) for c in columns)
    ordered = frame.select(columns)
    statement = f"COPY {table_sql} ({column_list}) FROM STDIN (FORMAT csv)"
    with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
        for offset in range(0, ordered.height, chunk_rows):
            chunk = ordered.slice(offset, chunk_rows)
            copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric",
                                       datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z", date_format="%Y-%m-%d"))
