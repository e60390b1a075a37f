"""Load throughput: raw binary COPY vs ``load_frame`` (create + insert, unchanged, changed, new rows merged).

Run: ``.venv/bin/python benchmarks/load.py [--rows 1000000]`` (needs PostgreSQL at 127.0.0.1:5432 or the
embedded server). Everything runs in a throwaway database, as the tenant's role, one after the other.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erp_platform.db import make_engine, quote_ident
from erp_platform.loader import LoadSpec, load_frame
from erp_platform.loader._copy import copy_frame
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService, tenant_transaction
from tests.support.database import fresh_database

COLUMNS = {
    "order_id": "bigint", "customer_id": "bigint", "order_number": "text", "customer_name": "text",
    "status": "text", "currency": "text", "net_amount": "numeric(12,2)", "tax_amount": "numeric(12,2)",
    "ordered_at": "timestamptz", "shipped_at": "timestamptz", "is_paid": "boolean", "note": "text",
}
PG_BINARY_TYPES = ["int8", "int8", "text", "text", "text", "text", "numeric", "numeric", "timestamptz",
                   "timestamptz", "bool", "text"]


def sales_orders(n: int, first_id: int = 0) -> pl.DataFrame:
    """``n`` realistic sales orders (12 columns) as the loader receives them (typed frame)."""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    idx = pl.int_range(first_id, first_id + n, eager=True, dtype=pl.Int64)
    frame = pl.DataFrame({"i": idx}).with_columns(
        pl.col("i").alias("order_id"),
        (pl.col("i") * 7919 % 25_000).alias("customer_id"),
        pl.format("SO-{}", pl.col("i").cast(pl.String).str.zfill(9)).alias("order_number"),
        pl.format("Customer {} GmbH & Co. KG", pl.col("i") * 7919 % 25_000).alias("customer_name"),
        pl.col("i").mod(5).replace_strict({0: "open", 1: "released", 2: "shipped", 3: "invoiced",
                                           4: "cancelled"}, return_dtype=pl.String).alias("status"),
        pl.when(pl.col("i") % 3 == 0).then(pl.lit("USD")).otherwise(pl.lit("EUR")).alias("currency"),
        ((pl.col("i") * 37 % 1_000_000).cast(pl.Decimal(12, 2)) / 100).cast(pl.Decimal(12, 2))
        .alias("net_amount"),
        ((pl.col("i") * 37 % 1_000_000 * 19 // 100).cast(pl.Decimal(12, 2)) / 100).cast(pl.Decimal(12, 2))
        .alias("tax_amount"),
        (pl.lit(start) + pl.duration(seconds=pl.col("i") * 31)).alias("ordered_at"),
        pl.when(pl.col("i") % 4 == 0).then(None)
        .otherwise(pl.lit(start) + pl.duration(seconds=pl.col("i") * 31 + 86_400)).alias("shipped_at"),
        (pl.col("i") % 3 != 1).alias("is_paid"),
        pl.when(pl.col("i") % 5 == 0).then(pl.lit("deliver to gate 4; call ahead")).otherwise(None)
        .alias("note"),
    ).drop("i")
    return frame.with_columns(pl.col("ordered_at", "shipped_at").dt.convert_time_zone("UTC"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    t0 = time.perf_counter()
    frame = sales_orders(rows)
    more = sales_orders(rows, first_id=rows)
    print(f"generated 2 x {rows:,} rows ({len(COLUMNS)} columns) in {time.perf_counter() - t0:.1f} s")
    mapping = {"columns": [{"source": c, "target": c, "type": t} for c, t in COLUMNS.items()]}
    spec = LoadSpec.model_validate({"table": "sales_orders", "business_key": ["order_id"],
                                    "mapping": mapping})
    loaded_at = datetime(2024, 6, 1, tzinfo=UTC)
    with fresh_database("erp_bench") as url:
        engine = make_engine(url, application_name="erp-bench")
        migrate(engine)
        tenant = TenantService(engine).create("bench", "enterprise")
        results: list[tuple[str, float]] = []

        def raw(label: str, binary: bool) -> None:
            table = "raw_binary" if binary else "raw_csv"
            defs = ", ".join(f"{quote_ident(c)} {t}" for c, t in COLUMNS.items())
            with tenant_transaction(engine, tenant) as conn:
                conn.exec_driver_sql(f"CREATE TABLE {table} ({defs}, _erp_run_id text NOT NULL, "
                                     "_erp_loaded_at timestamptz NOT NULL, PRIMARY KEY (order_id))")
            settle()
            start = time.perf_counter()
            with tenant_transaction(engine, tenant) as conn:
                dbapi = conn.connection.driver_connection
                assert isinstance(dbapi, psycopg.Connection)
                stamped = frame.with_columns(pl.lit("raw").alias("_erp_run_id"),
                                             pl.lit(loaded_at).alias("_erp_loaded_at"))
                if binary:
                    cols = ", ".join([*COLUMNS, "_erp_run_id", "_erp_loaded_at"])
                    statement = f"COPY {table} ({cols}) FROM STDIN (FORMAT binary)"
                    with dbapi.cursor() as cur, cur.copy(statement) as cp:
                        cp.set_types([*PG_BINARY_TYPES, "text", "timestamptz"])
                        for row in stamped.iter_rows():
                            cp.write_row(row)
                else:
                    copy_frame(dbapi, table, stamped.columns, stamped)
            results.append((label, time.perf_counter() - start))

        def settle() -> None:  # flush dirty pages so one case's checkpoint does not land in the next
            with engine.connect() as conn:
                conn.exec_driver_sql("CHECKPOINT")

        def load(label: str, data: pl.DataFrame, run_id: str) -> None:
            settle()
            start = time.perf_counter()
            result = load_frame(engine, tenant, spec, data, run_id=run_id, loaded_at=loaded_at)
            results.append((label, time.perf_counter() - start))
            print(f"  {label}: {result.model_dump()}")

        raw("raw binary COPY (psycopg write_row) into a fresh table with PK", binary=True)
        raw("raw CSV COPY (polars write_csv) into a fresh table with PK", binary=False)
        load("load_frame: create + all rows new (empty table: direct COPY)", frame, "run-1")
        load("load_frame: all rows unchanged (merge)", frame, "run-2")
        changed = frame.with_columns((pl.col("net_amount") + Decimal("1.00")).cast(pl.Decimal(12, 2)))
        load("load_frame: all rows changed (merge)", changed, "run-3")
        load("load_frame: all rows new into a non-empty table (merge)", more, "run-4")
        engine.dispose()
    baseline = results[0][1]
    print(f"\n{rows:,} rows per case; ratio = rows/s relative to raw binary COPY\n")
    print(f"{'case':<66} {'seconds':>8} {'rows/s':>10} {'ratio':>6}")
    for label, seconds in results:
        print(f"{label:<66} {seconds:8.2f} {rows / seconds:10,.0f} {baseline / seconds:6.2f}")


if __name__ == "__main__":
    main()
