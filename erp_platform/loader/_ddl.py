"""Target tables: introspection, creation from a mapping, additive evolution, incompatibility checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, text

from erp_platform.db import quote_ident
from erp_platform.loader._errors import IncompatibleTableError

RUN_ID_COLUMN = "_erp_run_id"
LOADED_AT_COLUMN = "_erp_loaded_at"
_PG_TYPE_NAMES = {"timestamp with time zone": "timestamptz"}


@dataclass(frozen=True)
class TableShape:
    """An existing table's columns (name -> normalised type, in order) and primary key columns."""

    columns: dict[str, str]
    primary_key: tuple[str, ...]
    kind: str


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"`` from validated identifiers."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def read_shape(conn: Connection, schema: str, table: str) -> TableShape | None:
    """The shape of ``schema.table``, or None if there is no relation of that name."""
    rel = conn.execute(
        text("SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = :schema AND c.relname = :table"),
        {"schema": schema, "table": table},
    ).first()
    if rel is None:
        return None
    rows = conn.execute(
        text("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
             "WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
        {"oid": rel[0]},
    ).all()
    key = conn.execute(
        text("SELECT a.attname FROM pg_index i "
             "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(num, pos) "
             "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num "
             "WHERE i.indrelid = :oid AND i.indisprimary ORDER BY k.pos"),
        {"oid": rel[0]},
    ).scalars().all()
    columns = {str(name): _PG_TYPE_NAMES.get(str(type_), str(type_)) for name, type_ in rows}
    return TableShape(columns, tuple(str(k) for k in key), str(rel[1]))


def create_table(conn: Connection, schema: str, table: str, *, columns: Mapping[str, str],
                 key: tuple[str, ...], not_null: set[str]) -> None:
    """``CREATE TABLE`` with the mapped columns, the business key as primary key and the run columns."""
    defs = [f"{quote_ident(name)} {type_}{' NOT NULL' if name in not_null or name in key else ''}"
            for name, type_ in columns.items()]
    defs += [f"{quote_ident(RUN_ID_COLUMN)} text NOT NULL",
             f"{quote_ident(LOADED_AT_COLUMN)} timestamptz NOT NULL",
             f"PRIMARY KEY ({', '.join(quote_ident(k) for k in key)})"]
    conn.execute(text(f"CREATE TABLE {qualified(schema, table)} ({', '.join(defs)})"))


def evolve_table(conn: Connection, schema: str, table: str, *, shape: TableShape,
                 columns: Mapping[str, str], key: tuple[str, ...]) -> list[str]:
    """Check ``shape`` against the mapping and add new columns (nullable); return the names added.

    Raises:
        IncompatibleTableError: not a table, missing run columns, a different key, or a changed type.
    """
    where = f"table {schema}.{table}"
    if shape.kind not in ("r", "p"):
        raise IncompatibleTableError(f"{where} exists but is not a table; load into another table name")
    if RUN_ID_COLUMN not in shape.columns or LOADED_AT_COLUMN not in shape.columns:
        raise IncompatibleTableError(
            f"{where} exists but was not created by the loader (no {RUN_ID_COLUMN}/{LOADED_AT_COLUMN} "
            "columns); load into another table name or drop it"
        )
    if set(shape.primary_key) != set(key):
        raise IncompatibleTableError(
            f"{where} has business key ({', '.join(shape.primary_key) or 'none'}) but the load uses "
            f"({', '.join(key)}); the business key of a table cannot change: load into a new table name, "
            "or migrate the table yourself (new primary key, deduplicated rows)"
        )
    changed = [(name, shape.columns[name], type_) for name, type_ in columns.items()
               if name in shape.columns and shape.columns[name] != type_]
    if changed:
        detail = "; ".join(f"{name!r} is {old} in the table but {new} in the mapping"
                           for name, old, new in changed)
        raise IncompatibleTableError(
            f"{where}: column types changed: {detail}. Types never change in place: map to the old type, "
            "load into a new table name, or migrate the column yourself (ALTER TABLE ... TYPE)"
        )
    added = [name for name in columns if name not in shape.columns]
    for name in added:
        conn.execute(text(f"ALTER TABLE {qualified(schema, table)} "
                          f"ADD COLUMN {quote_ident(name)} {columns[name]}"))
    return added
