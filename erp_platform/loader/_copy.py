"""Streaming a frame into a table with ``COPY ... FROM STDIN (FORMAT csv)``, chunk by chunk.

CSV rather than binary: polars writes CSV in native code (about 0.4 s per million 10-column rows)
while building binary COPY rows in Python costs far more than Postgres saves parsing them (see
``benchmarks/load.py``). Text values are always quoted, so an empty string stays an empty string and
only an unquoted empty field is NULL.

Encoding and sending overlap: a worker thread encodes the next chunks (polars releases the GIL) while
this thread sends the current one and the server parses it, so a load costs about the longer of the two
rather than their sum. At most ``AHEAD`` encoded chunks wait, so memory stays bounded by the chunk size.
Only the calling thread touches the connection.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

import polars as pl
import psycopg

from erp_platform.db import quote_ident

DEFAULT_CHUNK_ROWS = 50_000
AHEAD = 2  # encoded chunks waiting to be sent, besides the one being sent


def copy_frame(dbapi: psycopg.Connection[object], table_sql: str, columns: Sequence[str],
               frame: pl.DataFrame, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
    """Append ``frame`` (in ``columns`` order) to ``table_sql`` with COPY, ``chunk_rows`` at a time."""
    column_list = ", ".join(quote_ident(c) for c in columns)
    ordered = frame.select(columns)
    offsets = iter(range(0, ordered.height, chunk_rows))
    statement = f"COPY {table_sql} ({column_list}) FROM STDIN (FORMAT csv)"
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-copy-csv") as encoder,
          dbapi.cursor() as cursor, cursor.copy(statement) as copy):
        pending: deque[Future[bytes]] = deque(
            encoder.submit(_csv, ordered, offset, chunk_rows) for offset in islice(offsets, AHEAD + 1))
        try:
            while pending:
                chunk = pending.popleft().result()
                following = next(offsets, None)
                if following is not None:
                    pending.append(encoder.submit(_csv, ordered, following, chunk_rows))
                copy.write(chunk)
        finally:
            for future in pending:  # a failed send or encoding: do not encode what will not be sent
                future.cancel()


def _csv(frame: pl.DataFrame, offset: int, rows: int) -> bytes:
    buffer = io.BytesIO()
    frame.slice(offset, rows).write_csv(buffer, include_header=False, quote_style="non_numeric",
                                        datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z", date_format="%Y-%m-%d")
    return buffer.getvalue()
