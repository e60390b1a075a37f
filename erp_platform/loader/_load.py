"""``load_frame``: merge a frame into ``tenant_<slug>.<table>`` with an exactly-once effect.

What the guarantee covers (also in the package docs):

* One load call is one transaction under the tenant's role: either every row of the frame is merged
  or none is (a crash, a timeout or a bad value leaves the table exactly as before).
* The merge is idempotent: rows are upserted on the business key, so running the same load again (a
  retry, a re-execution from failure, a resumed run) produces the same table, never duplicates. Rows
  whose values did not change are not rewritten and keep their ``_erp_run_id``/``_erp_loaded_at``.
* Within one frame, several rows with the same business key collapse to the last one.

What it does not cover:

* Rows deleted in the ERP are not deleted from the table (the loader only inserts and updates).
* A retry loads what the extract returns at retry time: if the ERP changed between attempts, the
  table converges to the newer ERP snapshot per business key; it is not a point-in-time copy.
* Columns dropped from a mapping stay in the table, keeping their old values (new rows get NULL).
* Two concurrent loads into the same table are serialised (an advisory lock per table); the later one
  wins for keys both touch.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import polars as pl
import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from erp_platform._errors import InvalidInputError, Problem, TenantIsolationError, ValidationFailed
from erp_platform.db import quote_ident, tenant_schema, validate_identifier
from erp_platform.loader._copy import DEFAULT_CHUNK_ROWS, copy_frame
from erp_platform.loader._ddl import (
    LOADED_AT_COLUMN,
    RUN_ID_COLUMN,
    create_table,
    evolve_table,
    qualified,
    read_shape,
)
from erp_platform.loader._errors import LoadFailed
from erp_platform.loader._keys import resolve_business_key
from erp_platform.loader._spec import LoadSpec
from erp_platform.tenancy import TenantInfo, tenant_transaction
from erp_platform.transforms import (
    MappingSpec,
    apply_mapping,
    check_mapping,
    complete_mapping,
    derive_mapping,
    mapped_schema,
    schema_of_frame,
)
from erp_platform.transforms._logical import Schema
from erp_platform.transforms._mapping import require_values

STAGE_TABLE = "_erp_stage"


class LoadResult(BaseModel):
    """What one load did. ``unchanged = rows_in - duplicates - inserted - updated``."""

    model_config = ConfigDict(frozen=True)

    table: str = Field(description="schema-qualified target table")
    rows_in: int = Field(description="rows in the frame")
    duplicates: int = Field(description="rows dropped because a later row had the same business key")
    inserted: int
    updated: int
    unchanged: int
    created: bool = Field(description="the table was created by this load")
    columns_added: list[str] = Field(default_factory=list, description="columns added by this load")


def check_load(spec: LoadSpec, source_schema: Schema, *,
               mapping: MappingSpec | None = None) -> list[Problem]:
    """Every problem of a load over records of ``source_schema`` (table, business key, mapping types).

    ``mapping`` (else ``spec.mapping``, else one derived from ``source_schema``) is completed against
    ``source_schema`` first; the business key may name target columns or the source fields mapped to them.
    """
    problems: list[Problem] = []
    try:
        validate_identifier(spec.table, path="table")
    except InvalidInputError as exc:
        problems.append(Problem("table", str(exc).split(": ", 1)[1], spec.table))
    given = mapping or spec.mapping
    if given is None and spec.mapping_ref is not None:
        return problems
    resolved = complete_mapping(given, source_schema) if given is not None else derive_mapping(source_schema)
    for i, column in enumerate(resolved.columns):
        try:
            validate_identifier(column.target, path=f"mapping.columns[{i}].target")
        except InvalidInputError as exc:
            reason = str(exc).split(": ", 1)[1]
            problems.append(Problem(f"mapping.columns[{i}].target", reason, column.target))
    problems += [Problem(f"mapping.{p.path}", p.message, p.received)
                 for p in check_mapping(given or resolved, source_schema)]
    if spec.business_key is None:
        problems.append(Problem("business_key", "no business key: set business_key to the target columns (or "
                                "the source fields mapped to them) that identify a row"))
    else:
        problems += resolve_business_key(spec.business_key, resolved)[1]
    return problems


def load_frame(engine: Engine, tenant: TenantInfo, spec: LoadSpec, frame: pl.DataFrame | pl.LazyFrame,
               *, run_id: str, loaded_at: datetime, mapping: MappingSpec | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> LoadResult:
    """Merge ``frame`` into ``tenant_<slug>.<spec.table>`` on the business key, in one transaction.

    Creates the table from the mapping when missing (primary key = business key, plus ``_erp_run_id``
    and ``_erp_loaded_at``), adds new mapped columns, refuses type or key changes, COPYs the mapped rows
    into a temporary staging table and upserts them, rewriting only rows whose values changed. Into an
    empty table the rows are COPYed directly (same result, half the work). Everything runs as the
    tenant's role, so the load can reach nothing outside the tenant's schema.

    Args:
        engine: platform engine (the transaction switches to the tenant's role).
        tenant: the tenant whose schema receives the rows.
        spec: table, business key and (inline) mapping.
        frame: the rows, one column per source field.
        run_id: recorded in ``_erp_run_id`` of inserted and changed rows.
        loaded_at: recorded in ``_erp_loaded_at`` of inserted and changed rows.
        mapping: the resolved mapping when ``spec`` uses ``mapping_ref``.
        chunk_rows: rows per COPY chunk (memory stays bounded for large frames).

    Raises:
        InvalidInputError: invalid identifiers, unresolved mapping, null business keys, bad values.
        IncompatibleTableError: the existing table's key or column types differ from the mapping.
        LoadFailed: the database refused the load (rolled back; ``transient`` when worth retrying).
    """
    schema = _tenant_schema(tenant)
    given = mapping or spec.mapping
    if given is None and spec.mapping_ref is not None:
        raise InvalidInputError(
            f"load into {spec.table!r} uses mapping_ref {spec.mapping_ref!r}: resolve it from the stored "
            "mapping configs and pass it as mapping="
        )
    where = f"load into {schema}.{spec.table}"
    if given is None or not given.complete:
        fields = schema_of_frame(frame.lazy())
        given = complete_mapping(given, fields) if given is not None else derive_mapping(fields)
    resolved = given
    problems = check_load(spec, {c.source: "unknown" for c in resolved.columns}, mapping=resolved)
    ValidationFailed.raise_if_any(f"{where}: invalid load", problems)
    if chunk_rows < 1:
        raise InvalidInputError(f"chunk_rows must be at least 1 (received {chunk_rows})")
    data = apply_mapping(frame, resolved, where=where)
    keys = tuple(resolve_business_key(spec.business_key or (), resolved)[0])
    require_values(data, list(keys), where=where, why="is part of the business key")
    rows_in = data.height
    data = _last_row_per_key(data, keys)
    columns = mapped_schema(resolved)
    not_null = {str(c.target) for c in resolved.columns if not c.nullable}
    try:
        with tenant_transaction(engine, tenant) as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(schema, spec.table)})
            shape = read_shape(conn, schema, spec.table)
            if shape is None:
                create_table(conn, schema, spec.table, columns=columns, key=keys, not_null=not_null)
                added: list[str] = []
            else:
                added = evolve_table(conn, schema, spec.table, shape=shape, columns=columns, key=keys)
            empty = shape is None or not conn.execute(
                text(f"SELECT EXISTS (SELECT 1 FROM {qualified(schema, spec.table)})")).scalar_one()
            target, stamp = (schema, spec.table), (run_id, _utc(loaded_at))
            if empty:
                inserted, updated = _insert_all(conn, target, data, stamp=stamp, chunk_rows=chunk_rows,
                                                created=shape is None)
            else:
                inserted, updated = _merge(conn, target, data, columns=columns, keys=keys, stamp=stamp,
                                           chunk_rows=chunk_rows)
    except DBAPIError as exc:
        raise _failed(where, exc.orig if exc.orig is not None else exc) from exc
    except psycopg.Error as exc:
        raise _failed(where, exc) from exc
    duplicates = rows_in - data.height
    return LoadResult(table=f"{schema}.{spec.table}", rows_in=rows_in, duplicates=duplicates,
                      inserted=inserted, updated=updated, unchanged=rows_in - duplicates - inserted - updated,
                      created=shape is None, columns_added=added)


def _tenant_schema(tenant: TenantInfo) -> str:
    expected = tenant_schema(tenant.slug)
    if tenant.schema_name != expected:
        raise TenantIsolationError(
            f"tenant {tenant.slug!r} has schema {tenant.schema_name!r} but loads only ever write to "
            f"{expected!r}; reload the tenant record from the registry"
        )
    return expected


def _lock_key(schema: str, table: str) -> int:
    digest = hashlib.sha256(f"erp-load\x00{schema}\x00{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _last_row_per_key(data: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """``data`` with only the last row of each business key, in order.

    Counting distinct keys is cheap (one or a few columns); deduplicating rewrites every column, so it runs
    only when some key repeats (a full extract from an ERP rarely repeats one).
    """
    key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    if data.select(key.n_unique()).item() == data.height:
        return data
    return data.unique(subset=list(keys), keep="last", maintain_order=True)


def _driver(conn: Connection) -> psycopg.Connection[object]:
    dbapi = conn.connection.driver_connection
    assert isinstance(dbapi, psycopg.Connection)
    return dbapi


def _insert_all(conn: Connection, target: tuple[str, str], data: pl.DataFrame, *,
                stamp: tuple[str, datetime], chunk_rows: int, created: bool) -> tuple[int, int]:
    """Into an empty (locked) table, COPY the rows straight in: the merge would insert them all.

    The run columns hold one value per load. Into a table this transaction created (no one else sees it
    before the commit) they come from column defaults set for the COPY and dropped right after it, so that
    value is not encoded, sent and parsed once per row; the table ends up exactly as created. Into an
    existing empty table they travel with the rows: changing its defaults would lock its readers out until
    the commit.
    """
    dbapi, table = _driver(conn), qualified(*target)
    if created:
        _set_run_defaults(dbapi, table, stamp)
        copy_frame(dbapi, table, data.columns, data, chunk_rows=chunk_rows)
        _set_run_defaults(dbapi, table, None)
        return data.height, 0
    stamped = data.with_columns(
        pl.lit(stamp[0], dtype=pl.String()).alias(RUN_ID_COLUMN),
        pl.lit(stamp[1], dtype=pl.Datetime("us", "UTC")).alias(LOADED_AT_COLUMN),
    )
    copy_frame(dbapi, table, stamped.columns, stamped, chunk_rows=chunk_rows)
    return data.height, 0


def _set_run_defaults(dbapi: psycopg.Connection[object], table: str, stamp: tuple[str, datetime] | None) -> None:
    """Give the run columns of ``table`` the defaults ``stamp`` (run id, loaded at), or drop them (None)."""
    columns = [sql.Identifier(RUN_ID_COLUMN), sql.Identifier(LOADED_AT_COLUMN)]
    if stamp is None:
        actions = [sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(column) for column in columns]
    else:  # literals quoted by the driver: DDL takes no parameters
        actions = [sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(column, sql.Literal(value))
                   for column, value in zip(columns, stamp, strict=True)]
    dbapi.execute(sql.SQL("ALTER TABLE {} {}").format(sql.SQL(table), sql.SQL(", ").join(actions)))


def _merge(conn: Connection, target: tuple[str, str], data: pl.DataFrame, *, columns: dict[str, str],
           keys: tuple[str, ...], stamp: tuple[str, datetime], chunk_rows: int) -> tuple[int, int]:
    """COPY into a temporary staging table, then upsert, rewriting only rows whose values changed."""
    stage = quote_ident(STAGE_TABLE)
    defs = ", ".join(f"{quote_ident(name)} {type_}" for name, type_ in columns.items())
    conn.execute(text(f"CREATE TEMP TABLE {stage} ({defs}) ON COMMIT DROP"))
    copy_frame(_driver(conn), f"pg_temp.{stage}", list(columns), data, chunk_rows=chunk_rows)
    names = [quote_ident(c) for c in columns]
    values = [quote_ident(c) for c in columns if c not in keys]
    run_cols = f"{quote_ident(RUN_ID_COLUMN)}, {quote_ident(LOADED_AT_COLUMN)}"
    if values:
        sets = ", ".join(f"{v} = EXCLUDED.{v}" for v in [*values, quote_ident(RUN_ID_COLUMN),
                                                          quote_ident(LOADED_AT_COLUMN)])
        old = ", ".join(f"t.{v}" for v in values)
        new = ", ".join(f"EXCLUDED.{v}" for v in values)
        action = f"DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
    else:
        action = "DO NOTHING"
    sql = (
        f"WITH merged AS (INSERT INTO {qualified(*target)} AS t ({', '.join(names)}, {run_cols}) "
        f"SELECT {', '.join(names)}, CAST(:run_id AS text), CAST(:loaded_at AS timestamptz) "
        f"FROM pg_temp.{stage} "
        f"ON CONFLICT ({', '.join(quote_ident(k) for k in keys)}) {action} RETURNING (xmax = 0) AS fresh) "
        "SELECT count(*) FILTER (WHERE fresh), count(*) FROM merged"
    )
    row = conn.execute(text(sql), {"run_id": stamp[0], "loaded_at": stamp[1]}).one()
    inserted, touched = int(row[0]), int(row[1])
    return inserted, touched - inserted


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_TRANSIENT = (psycopg.errors.QueryCanceled, psycopg.errors.DeadlockDetected,
              psycopg.errors.SerializationFailure, psycopg.errors.LockNotAvailable, psycopg.OperationalError)


def _failed(where: str, exc: BaseException) -> LoadFailed:
    transient = isinstance(exc, _TRANSIENT)
    first = (str(exc).strip().splitlines() or [""])[0]
    advice = ("retry the load (it is idempotent)" if transient else
              "fix the data or the mapping; the table is unchanged")
    if isinstance(exc, psycopg.errors.QueryCanceled):
        advice = "the tier's statement_timeout stopped it: load smaller batches or raise the tenant's tier"
    return LoadFailed(f"{where} failed and was rolled back: {type(exc).__name__}: {first}; {advice}",
                      transient=transient)
