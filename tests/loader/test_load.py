"""load_frame against the real Postgres: create, evolve, refuse, merge counts, idempotency, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, text

from erp_platform._errors import InvalidInputError, Problem, TenantIsolationError
from erp_platform.loader import IncompatibleTableError, LoadFailed, LoadSpec, check_load, load_frame
from erp_platform.tenancy import TenantInfo, TenantService, tenant_transaction
from erp_platform.transforms import ColumnMapping, MappingSpec

AT = datetime(2024, 6, 1, 12, tzinfo=UTC)
COLUMNS = [
    {"source": "id", "target": "order_id", "type": "bigint"},
    {"source": "amount", "target": "amount", "type": "numeric(12,2)"},
    {"source": "status", "target": "status", "type": "text"},
    {"source": "ordered_at", "target": "ordered_at", "type": "timestamptz"},
]
_tables = count()


def spec(table: str, columns: list[dict[str, Any]] | None = None, key: list[str] | None = None) -> LoadSpec:
    return LoadSpec.model_validate({"table": table, "business_key": key or ["order_id"],
                                    "mapping": {"columns": columns or COLUMNS}})


def orders(ids: list[int], amounts: list[str] | None = None, status: str = "open") -> pl.DataFrame:
    return pl.DataFrame({
        "id": ids,
        "amount": amounts or [f"{i}.50" for i in ids],
        "status": [status] * len(ids),
        "ordered_at": ["2024-05-01T10:00:00Z"] * len(ids),
    })


@pytest.fixture(scope="module")
def tenant_a(tenants: TenantService) -> TenantInfo:
    return tenants.create("loader_a", "standard")


@pytest.fixture(scope="module")
def tenant_b(tenants: TenantService) -> TenantInfo:
    return tenants.create("loader_b", "free")


@pytest.fixture
def table() -> Iterator[str]:
    yield f"orders_{next(_tables)}"


def rows(engine: Engine, tenant: TenantInfo, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f'SELECT order_id, amount, status, _erp_run_id FROM "{tenant.schema_name}"."{table}" ORDER BY '
            '1'))]


def columns_of(engine: Engine, tenant: TenantInfo, table: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"),
            {"s": tenant.schema_name, "t": table})]


def test_creates_the_table_as_the_tenant_role(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    result = load_frame(engine, tenant_a, spec(table), orders([1, 2, 3]), run_id="run-1", loaded_at=AT)
    assert result.model_dump() == {"table": f"tenant_loader_a.{table}", "rows_in": 3, "duplicates": 0,
                                   "inserted": 3, "updated": 0, "unchanged": 0, "created": True,
                                   "columns_added": []}
    assert columns_of(engine, tenant_a, table) == [
        ("order_id", "bigint", "NO"), ("amount", "numeric", "YES"), ("status", "text", "YES"),
        ("ordered_at", "timestamp with time zone", "YES"), ("_erp_run_id", "text", "NO"),
        ("_erp_loaded_at", "timestamp with time zone", "NO"),
    ]
    with engine.connect() as conn:
        owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = "
                                  ":t"),
                             {"s": tenant_a.schema_name, "t": table}).scalar_one()
        key = conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
            f"'\"{tenant_a.schema_name}\".\"{table}\"'::regclass AND contype = 'p'")).scalar_one()
    assert owner == tenant_a.role_name
    assert key == "PRIMARY KEY (order_id)"
    assert rows(engine, tenant_a, table) == [
        (1, Decimal("1.50"), "open", "run-1"),
        (2, Decimal("2.50"), "open", "run-1"),
        (3, Decimal("3.50"), "open", "run-1"),
    ]
    assert run_columns(engine, tenant_a, table) == {("run-1", AT)}
    assert column_defaults(engine, tenant_a, table) == {}  # the run columns' COPY defaults are gone


def run_columns(engine: Engine, tenant: TenantInfo, table: str) -> set[tuple[str, datetime]]:
    with engine.connect() as conn:
        return {(r[0], r[1]) for r in conn.execute(text(
            f'SELECT DISTINCT _erp_run_id, _erp_loaded_at FROM "{tenant.schema_name}"."{table}"'))}


def column_defaults(engine: Engine, tenant: TenantInfo, table: str) -> dict[str, str]:
    with engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(text(
            "SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = :s AND "
            "table_name = :t AND column_default IS NOT NULL"), {"s": tenant.schema_name, "t": table})}


@pytest.mark.parametrize("run_id", ["run-2", "it's run :2; DROP TABLE x; -- %s"])
def test_run_columns_hold_the_run_whether_the_table_is_new_or_empty(engine: Engine, tenant_a: TenantInfo,
                                                                   table: str, run_id: str) -> None:
    later = datetime(2024, 7, 1, 8, 30, 15, 123456, tzinfo=UTC)
    created = load_frame(engine, tenant_a, spec(table), orders([1, 2]), run_id=run_id, loaded_at=later)
    assert created.created and run_columns(engine, tenant_a, table) == {(run_id, later)}
    with engine.begin() as conn:
        conn.execute(text(f'DELETE FROM "{tenant_a.schema_name}"."{table}"'))
    refilled = load_frame(engine, tenant_a, spec(table), orders([3]), run_id="run-3", loaded_at=AT)
    assert (refilled.created, refilled.inserted) == (False, 1)
    assert run_columns(engine, tenant_a, table) == {("run-3", AT)}
    assert column_defaults(engine, tenant_a, table) == {}


def test_merge_counts_inserted_updated_unchanged_and_batch_duplicates(engine: Engine, tenant_a: TenantInfo,
                                                                      table: str) -> None:
    load_frame(engine, tenant_a, spec(table), orders([1, 2, 3]), run_id="run-1", loaded_at=AT)
    batch = orders([2, 3, 4, 4, 5], ["2.50", "9.99", "1.00", "4.00", "5.00"])
    result = load_frame(engine, tenant_a, spec(table), batch, run_id="run-2", loaded_at=AT)
    counts = (result.rows_in, result.duplicates, result.inserted, result.updated, result.unchanged)
    assert counts == (5, 1, 2, 1, 1)
    assert rows(engine, tenant_a, table) == [
        (1, Decimal("1.50"), "open", "run-1"),
        (2, Decimal("2.50"), "open", "run-1"),  # unchanged: not rewritten, keeps its run id
        (3, Decimal("9.99"), "open", "run-2"),
        (4, Decimal("4.00"), "open", "run-2"),  # in-batch duplicate: the last row wins
        (5, Decimal("5.00"), "open", "run-2"),
    ]


def test_batch_duplicates_of_a_two_column_key_collapse_to_the_last_row(engine: Engine, tenant_a: TenantInfo,
                                                                       table: str) -> None:
    columns = [*COLUMNS, {"source": "line", "target": "line", "type": "integer"}]
    batch = orders([1, 1, 2, 1], ["1.00", "2.00", "3.00", "4.00"]).with_columns(line=pl.Series([1, 2, 1, 1]))
    result = load_frame(engine, tenant_a, spec(table, columns, key=["order_id", "line"]), batch, run_id="run-1",
                        loaded_at=AT)
    assert (result.rows_in, result.duplicates, result.inserted) == (4, 1, 3)
    with engine.connect() as conn:
        stored = conn.execute(text(f'SELECT order_id, line, amount FROM "{tenant_a.schema_name}"."{table}" '
                                   "ORDER BY 1, 2")).all()
    assert [tuple(r) for r in stored] == [(1, 1, Decimal("4.00")), (1, 2, Decimal("2.00")),
                                          (2, 1, Decimal("3.00"))]


def test_running_the_same_load_twice_gives_the_same_table(engine: Engine, tenant_a: TenantInfo,
                                                           table: str) -> None:
    batch = pl.concat([orders([1, 2]), orders([3], status="")])
    first = load_frame(engine, tenant_a, spec(table), batch, run_id="run-1", loaded_at=AT)
    before = rows(engine, tenant_a, table)
    again = load_frame(engine, tenant_a, spec(table), batch, run_id="run-1", loaded_at=AT)
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert rows(engine, tenant_a, table) == before
    assert before[2] == (3, Decimal("3.50"), "", "run-1")  # empty text stays empty text, not NULL


def test_evolves_additively_and_keeps_dropped_columns(engine: Engine, tenant_a: TenantInfo,
                                                      table: str) -> None:
    load_frame(engine, tenant_a, spec(table), orders([1]), run_id="run-1", loaded_at=AT)
    evolved = [c for c in COLUMNS if c["target"] != "status"] + [
        {"source": "paid", "target": "paid", "type": "boolean"},
        {"source": "lines", "target": "lines", "type": "jsonb"},
    ]
    batch = orders([1, 2]).with_columns(pl.Series("paid", ["yes", "no"]),
                                        pl.Series("lines", ['{"sku": "A"}', None]))
    result = load_frame(engine, tenant_a, spec(table, evolved), batch, run_id="run-2", loaded_at=AT)
    assert result.columns_added == ["paid", "lines"]
    assert (result.inserted, result.updated) == (1, 1)
    assert [c[0] for c in columns_of(engine, tenant_a, table)] == [
        "order_id", "amount", "status", "ordered_at", "_erp_run_id", "_erp_loaded_at", "paid", "lines"]
    with engine.connect() as conn:
        got = conn.execute(text(f'SELECT order_id, status, paid, lines FROM tenant_loader_a."{table}" ORDER '
                                'BY 1'))
        assert [tuple(r) for r in got] == [(1, "open", True, {"sku": "A"}), (2, None, False, None)]


@pytest.mark.parametrize(
    ("columns", "key", "message"),
    [
        ([{**COLUMNS[0]}, {**COLUMNS[1], "type": "numeric(14,4)"}, {**COLUMNS[2], "type": "bigint"}], None,
         "table tenant_loader_a.{table}: column types changed: 'amount' is numeric(12,2) in the table but "
         "numeric(14,4) in the mapping; 'status' is text in the table but bigint in the mapping. Types never "
         "change in place: map to the old type, load into a new table name, or migrate the column yourself "
         "(ALTER TABLE ... TYPE)"),
        (COLUMNS, ["order_id", "status"],
         "table tenant_loader_a.{table} has business key (order_id) but the load uses (order_id, status); "
         "the "
         "business key of a table cannot change: load into a new table name, or migrate the table yourself "
         "(new "
         "primary key, deduplicated rows)"),
    ],
    ids=["type-changed", "key-changed"],
)
def test_incompatible_changes_are_refused(engine: Engine, tenant_a: TenantInfo, table: str,
                                          columns: list[dict[str, Any]], key: list[str] | None,
                                          message: str) -> None:
    load_frame(engine, tenant_a, spec(table), orders([1]), run_id="run-1", loaded_at=AT)
    batch = orders([1]).with_columns(pl.lit("7").alias("status"))
    with pytest.raises(IncompatibleTableError) as info:
        load_frame(engine, tenant_a, spec(table, columns, key), batch, run_id="run-2", loaded_at=AT)
    assert str(info.value) == message.format(table=table)


def test_a_failed_load_leaves_the_table_as_before(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    required = [*COLUMNS[:2], {**COLUMNS[2], "nullable": False}]
    load_frame(engine, tenant_a, spec(table, required), orders([1]), run_id="run-1", loaded_at=AT)
    before_rows, before_columns = rows(engine, tenant_a, table), columns_of(engine, tenant_a, table)
    # status is NOT NULL in the table; this mapping drops it and adds a column: the insert of row 2 fails
    dropped = [*COLUMNS[:2], {"source": "status", "target": "note", "type": "text"}]
    with pytest.raises(LoadFailed) as info:
        load_frame(engine, tenant_a, spec(table, dropped), orders([1, 2], ["5.00", "6.00"]), run_id="run-2",
                   loaded_at=AT)
    assert str(info.value).startswith(f"load into tenant_loader_a.{table} failed and was rolled back: "
                                      'NotNullViolation: null value in column "status"')
    assert not info.value.transient
    assert rows(engine, tenant_a, table) == before_rows
    assert columns_of(engine, tenant_a, table) == before_columns


def test_null_business_keys_are_refused(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    batch = pl.DataFrame({"id": [1, None, 3, None], "amount": ["1"] * 4, "status": ["a"] * 4,
                          "ordered_at": [None] * 4}, schema_overrides={"ordered_at": pl.String})
    with pytest.raises(InvalidInputError) as info:
        load_frame(engine, tenant_a, spec(table), batch, run_id="run-1", loaded_at=AT)
    assert str(info.value) == (
        f"load into tenant_loader_a.{table}: column 'order_id' is part of the business key but 2 of 4 rows "
        "have "
        "no value (rows 1, 3; counted from 0); fill it upstream (e.g. derive with coalesce()) or filter "
        "those "
        "rows out"
    )


def test_bad_values_fail_before_anything_is_written(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_frame(engine, tenant_a, spec(table), orders([1, 2], ["1.00", "lots"]), run_id="r", loaded_at=AT)
    assert "column 'amount' (mapped to 'amount'): 1 of 2 values cannot be converted to numeric(12,2): " \
           "'lots' at row 1" in str(info.value)
    assert columns_of(engine, tenant_a, table) == []


def test_large_frames_are_streamed_in_chunks(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    ids = list(range(2_500))
    first = load_frame(engine, tenant_a, spec(table), orders(ids), run_id="r1", loaded_at=AT, chunk_rows=1000)
    changed = orders([*ids, 9_999], [*(f"{i}.75" for i in ids), "1"])
    second = load_frame(engine, tenant_a, spec(table), changed, run_id="r2", loaded_at=AT, chunk_rows=300)
    assert (first.inserted, second.inserted, second.updated) == (2_500, 1, 2_500)


def test_mapping_ref_must_be_resolved(engine: Engine, tenant_a: TenantInfo) -> None:
    by_ref = LoadSpec.model_validate({"table": "t", "business_key": ["order_id"], "mapping_ref": "orders_v1"})
    with pytest.raises(InvalidInputError) as info:
        load_frame(engine, tenant_a, by_ref, orders([1]), run_id="r", loaded_at=AT)
    assert str(info.value) == ("load into 't' uses mapping_ref 'orders_v1': resolve it from the stored "
                               "mapping "
                               "configs and pass it as mapping=")


INJECTIONS = [
    ('x"; DROP TABLE orders; --', "table",
     "table: 'x\"; DROP TABLE orders; --' is not a valid identifier: it must match ^[a-z_][a-z0-9_]{0,62}$ "
     "(lowercase letters, digits and underscores, not starting with a digit, at most 63 characters)"),
    ("a b", "table", "table: 'a b' is not a valid identifier: it must match ^[a-z_][a-z0-9_]{0,62}$ "
                     "(lowercase "
                     "letters, digits and underscores, not starting with a digit, at most 63 characters)"),
    ("Name", "table", "table: 'Name' is not a valid identifier: it must match ^[a-z_][a-z0-9_]{0,62}$ "
                      "(lowercase "
                      "letters, digits and underscores, not starting with a digit, at most 63 characters)"),
    ("tenant_loader_b.x", "table",
     "table: 'tenant_loader_b.x' is not a valid identifier: it must match ^[a-z_][a-z0-9_]{0,62}$ (lowercase "
     "letters, digits and underscores, not starting with a digit, at most 63 characters)"),
    ("commandé", "table", "table: 'commandé' is not a valid identifier: it must match "
                          "^[a-z_][a-z0-9_]{0,62}$ "
                          "(lowercase letters, digits and underscores, not starting with a digit, at most 63 "
                          "characters)"),
    ("x" * 64, "table", f"table: '{'x' * 64}' is not a valid identifier: it must match "
                        f"^[a-z_][a-z0-9_]{{0,62}}$ "
                        "(lowercase letters, digits and underscores, not starting with a digit, at most 63 "
                        "characters)"),
    ("pg_orders", "table", "table: 'pg_orders' uses a reserved prefix (pg_, _erp_stage)"),
    ("_erp_stage", "table", "table: '_erp_stage' uses a reserved prefix (pg_, _erp_stage)"),
    ('id"; DROP', "column",
     "mapping.columns[4].target: 'id\"; DROP' is not a valid identifier: it must match "
     "^[a-z_][a-z0-9_]{0,62}$ "
     "(lowercase letters, digits and underscores, not starting with a digit, at most 63 characters)"),
    ("pg_id", "column", "mapping.columns[4].target: 'pg_id' uses a reserved prefix (pg_, _erp_stage)"),
]


@pytest.mark.parametrize(("name", "where", "message"), INJECTIONS, ids=[i[0][:20] for i in INJECTIONS])
def test_injection_through_names_is_refused_before_any_sql(engine: Engine, tenant_a: TenantInfo, name: str,
                                                           where: str, message: str) -> None:
    # model_construct skips the models' own pattern checks: the loader must refuse on its own
    columns = [ColumnMapping.model_construct(**c, nullable=True) for c in COLUMNS]
    if where == "column":
        extra = ColumnMapping.model_construct(source="status", target=name, type="text", nullable=True)
        columns.append(extra)
    table = name if where == "table" else "inj"
    forged = LoadSpec.model_construct(table=table, business_key=["order_id"],
                                      mapping=MappingSpec.model_construct(columns=columns), mapping_ref=None,
                                      input=None, mode="merge")
    with engine.connect() as conn:
        tables_before = conn.execute(text("SELECT count(*) FROM pg_tables")).scalar_one()
    with pytest.raises(InvalidInputError) as info:
        load_frame(engine, tenant_a, forged, orders([1]), run_id="r", loaded_at=AT)
    assert str(info.value) == (f"load into tenant_loader_a.{table}: invalid load: 1 problem\n"
                               f"  - {message} (received: {name!r})")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_tables")).scalar_one() == tables_before


def test_tenant_a_cannot_write_into_tenant_b(engine: Engine, tenant_a: TenantInfo,
                                             tenant_b: TenantInfo) -> None:
    load_frame(engine, tenant_b, spec("b_orders"), orders([1]), run_id="b-1", loaded_at=AT)
    # a forged tenant record pointing A's role at B's schema is refused before any SQL
    forged = tenant_a.model_copy(update={"schema_name": tenant_b.schema_name})
    with pytest.raises(TenantIsolationError) as info:
        load_frame(engine, forged, spec("b_orders"), orders([2]), run_id="a-1", loaded_at=AT)
    assert str(info.value) == ("tenant 'loader_a' has schema 'tenant_loader_b' but loads only ever write to "
                               "'tenant_loader_a'; reload the tenant record from the registry")
    # and by construction: A's role cannot touch B's schema at all
    with (pytest.raises(Exception, match="permission denied for schema tenant_loader_b"),
          tenant_transaction(engine, tenant_a) as conn):
        conn.execute(text('INSERT INTO tenant_loader_b.b_orders (order_id, _erp_run_id, _erp_loaded_at) '
                          "VALUES (2, 'x', now())"))
    load_frame(engine, tenant_a, spec("b_orders"), orders([2]), run_id="a-1", loaded_at=AT)
    assert rows(engine, tenant_b, "b_orders") == [(1, Decimal("1.50"), "open", "b-1")]
    assert rows(engine, tenant_a, "b_orders") == [(2, Decimal("2.50"), "open", "a-1")]


def test_load_runs_as_the_tenant_role(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    load_frame(engine, tenant_a, spec(table), orders([1]), run_id="r", loaded_at=AT)
    with engine.connect() as conn:
        stamped = conn.execute(text(f'SELECT _erp_loaded_at FROM tenant_loader_a."{table}"')).scalar_one()
        creator = conn.execute(text(
            "SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relname = :t"),
            {"s": tenant_a.schema_name, "t": table}).scalar_one()
    assert stamped == AT
    assert creator == tenant_a.role_name


def test_check_load_reports_key_and_mapping_problems() -> None:
    bad = spec("orders", [*COLUMNS[:2], {"source": "status", "target": "status", "type": "boolean"}],
               ["order_id", "customer_id", "order_id"])
    source = {"id": "bigint", "amount": "numeric(38,10)", "status": "numeric(38,10)"}
    assert check_load(bad, source) == [
        Problem("mapping.columns[2].type", "cannot map numeric(38,10) field 'status' to boolean: only text "
                                           "and "
                "integers (0/1) convert to boolean; derive a boolean first, e.g. amount > 0", "boolean"),
        Problem("business_key[1]", "business key column 'customer_id' is not a target of the mapping; map a "
                "field to it, or name a target column (order_id, amount, status) or the source field mapped to "
                "one", "customer_id"),
        Problem("business_key[2]", "column 'order_id' is in the business key twice", "order_id"),
    ]


ERP_RECORDS = pl.DataFrame({
    "ContactID": ["c-1", "c-2", "c-1"],
    "Name": ["Acme", "Beta", "Acme GmbH"],
    "name": ["acme", "beta", "acme gmbh"],
    "@odata.etag": ['W/"1"', 'W/"2"', 'W/"3"'],
    "UpdatedDateUTC": [datetime(2024, 1, 2, tzinfo=UTC), None, datetime(2024, 2, 3, tzinfo=UTC)],
})


def test_erp_named_fields_load_through_a_derived_mapping_keyed_on_a_source_field(
    engine: Engine, tenant_a: TenantInfo, table: str
) -> None:
    load = LoadSpec.model_validate({"table": table, "business_key": ["ContactID"]})
    result = load_frame(engine, tenant_a, load, ERP_RECORDS, run_id="run-erp", loaded_at=AT)
    assert (result.rows_in, result.duplicates, result.inserted) == (3, 1, 2)
    assert columns_of(engine, tenant_a, table) == [
        ("contact_id", "text", "NO"), ("name", "text", "YES"), ("name_2", "text", "YES"),
        ("odata_etag", "text", "YES"), ("updated_date_utc", "timestamp with time zone", "YES"),
        ("_erp_run_id", "text", "NO"), ("_erp_loaded_at", "timestamp with time zone", "NO"),
    ]
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(text(
            f'SELECT contact_id, name, name_2, odata_etag, updated_date_utc FROM "{tenant_a.schema_name}".'
            f'"{table}" ORDER BY 1'))]
    assert got == [("c-1", "Acme GmbH", "acme gmbh", 'W/"3"', datetime(2024, 2, 3, tzinfo=UTC)),
                   ("c-2", "Beta", "beta", 'W/"2"', None)]


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        ({"business_key": ["contactid"], "mapping": {"columns": [{"source": "ContactID"}]}},
         [Problem("business_key[0]", "business key column 'contactid' is not a target of the mapping (did you "
                                     "mean 'ContactID'?); map a field to it, or name a target column (contact_id) "
                                     "or the source field mapped to one", "contactid")]),
        ({"mapping": {"columns": [{"source": "ContactId"}]}},
         [Problem("mapping.columns[0].source", "unknown source field 'ContactId' (did you mean 'ContactID'?); the "
                  "input's fields (exact names): ContactID, Name, name, @odata.etag, UpdatedDateUTC; write the "
                  "source exactly as listed", "ContactId"),
          Problem("business_key", "no business key: set business_key to the target columns (or the source fields "
                                  "mapped to them) that identify a row")]),
        ({"business_key": ["Name", "name"], "mapping": {"columns": [{"source": "Name", "target": "n"},
                                                                     {"source": "Name", "target": "m"}]}},
         [Problem("business_key[0]", "source field 'Name' is mapped to several columns (n, m): name the target "
                                     "column to key on", "Name"),
          Problem("business_key[1]", "business key column 'name' is not a target of the mapping; map a field to it, "
                                     "or name a target column (n, m) or the source field mapped to one", "name")]),
    ],
    ids=["key_spelled_otherwise", "unknown_source_and_no_key", "ambiguous_source_key"],
)
def test_check_load_over_erp_names(load: dict[str, Any], expected: list[Problem]) -> None:
    schema = {"ContactID": "text", "Name": "text", "name": "text", "@odata.etag": "text",
              "UpdatedDateUTC": "timestamptz"}
    assert check_load(LoadSpec.model_validate({"table": "contacts", **load}), schema) == expected


def test_the_load_logs_in_as_the_tenant_role_not_the_platform(
    engine: Engine, tenant_a: TenantInfo, table: str
) -> None:
    """Rows written by a load record the session user that wrote them: the tenant's own login."""
    load_frame(engine, tenant_a, spec(table), orders([1]), run_id="run-1", loaded_at=AT)
    with tenant_transaction(engine, tenant_a) as conn:
        conn.execute(text(f'ALTER TABLE "{table}" ADD COLUMN written_by text DEFAULT session_user'))
    load_frame(engine, tenant_a, spec(table), orders([2, 3]), run_id="run-2", loaded_at=AT)
    with engine.connect() as conn:
        writers = conn.execute(text(
            f'SELECT DISTINCT written_by FROM "{tenant_a.schema_name}"."{table}" WHERE order_id > 1'
        )).scalars().all()
    assert writers == [tenant_a.role_name]


def test_an_empty_frame_creates_an_empty_table(engine: Engine, tenant_a: TenantInfo, table: str) -> None:
    result = load_frame(engine, tenant_a, spec(table), orders([1]).clear(), run_id="run-1", loaded_at=AT)
    assert (result.created, result.rows_in, result.inserted) == (True, 0, 0)
    assert rows(engine, tenant_a, table) == []
    assert column_defaults(engine, tenant_a, table) == {}
