"""Deterministic, vectorised row generation with polars.

Every value of row ``index`` is a pure function of (seed, ERP tenant, entity, index, version): a
SplitMix64 hash of the index, salted per (seed, tenant, entity), picks words from fixed lists and
numbers from ranges. Related entities recompute each other's hashes, so foreign keys and derived values
agree (an order's ``total_amount`` is the sum of its lines, an invoice's ``currency`` is its customer's).
Rows are rendered in chunks by a few dozen polars expressions and serialised by polars' JSON encoder
(one string per row), which is several times faster than building Python dicts for orjson.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from erp_platform.mock_erp._entities import DateFormat, EntitySpec, Kind
from erp_platform.mock_erp._timeline import BASE_MS, STEP_MS, RowRef
from erp_platform.mock_erp._vocabulary import (
    CITIES,
    COMPANY_NOUNS,
    COMPANY_WORDS,
    DISCOUNT_PERCENTS,
    INVOICE_STATUSES,
    MATERIALS,
    ORDER_STATUSES,
    PAYMENT_TERMS_DAYS,
    PRODUCTS,
    SIZES,
)

_U64 = pl.UInt64
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_VERSION_SALT = 0xD6E8FEB86659FD93
DAY_MS = 86_400_000


def salt_for(seed: int, tenant: str, entity: str) -> int:
    """The 64-bit salt of one (seed, ERP tenant, entity)."""
    digest = hashlib.blake2b(f"{seed}\x00{tenant}\x00{entity}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _u(value: int) -> pl.Expr:
    return pl.lit(value, dtype=_U64)


def _bits(h: pl.Expr, shift: int, modulo: int) -> pl.Expr:
    shifted: pl.Expr = h // 2**shift
    return shifted % modulo


def _table(values: Sequence[object], dtype: type[pl.DataType] | pl.DataType) -> pl.Expr:
    return pl.lit(pl.Series(values=list(values), dtype=dtype))


def _pick(table: pl.Expr, index: pl.Expr) -> pl.Expr:
    return table.gather(index.cast(pl.UInt32))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Lookup tables -------------------------------------------------------------------------------------

_NC = len(CITIES)
_NAME_PAIRS = [(w, n) for w in COMPANY_WORDS for n in COMPANY_NOUNS]
_COMPANY_NAMES = _table(
    [
        f"{word} {noun} {city.legal_forms[k % len(city.legal_forms)]}"
        for k, (word, noun) in enumerate(_NAME_PAIRS)
        for city in CITIES
    ],
    pl.String,
)
_COMPANY_DOMAINS = _table(
    [f"{_slug(w)}-{_slug(n)}.example" for w, n in _NAME_PAIRS for _ in CITIES], pl.String
)
_CITY_NAMES = _table([c.name for c in CITIES], pl.String)
_COUNTRIES = _table([c.country for c in CITIES], pl.String)
_CURRENCIES = _table([c.currency for c in CITIES], pl.String)
_PHONE_PREFIXES = _table([c.phone_prefix + " " for c in CITIES], pl.String)
_VAT_PERCENTS = _table([c.vat_percent for c in CITIES], _U64)
_TERMS = _table(PAYMENT_TERMS_DAYS, pl.Int64)
_NP, _NM, _NS = len(PRODUCTS), len(MATERIALS), len(SIZES)
_ITEM_DESCRIPTIONS = _table(
    [f"{m} {p[0]} {s}" for m in MATERIALS for p in PRODUCTS for s in SIZES], pl.String
)
_CATEGORIES = _table([p[1] for p in PRODUCTS], pl.String)
_UNITS = _table([p[2] for p in PRODUCTS], pl.String)
_DISCOUNTS = _table(DISCOUNT_PERCENTS, _U64)
_ORDER_STATUSES = _table(ORDER_STATUSES, pl.String)
_INVOICE_STATUSES = _table(INVOICE_STATUSES, pl.String)
_PAID_STATUSES = [k for k, s in enumerate(INVOICE_STATUSES) if s == "Paid"]
_OVERDUE_STATUSES = [k for k, s in enumerate(INVOICE_STATUSES) if s == "Overdue"]

_c = pl.col
_I = _c("i")  # row index, UInt64
_V = _c("v")  # version (times touched), UInt64
_UPD = _c("upd")  # updated_at, epoch ms, Int64


@dataclass(frozen=True)
class Hash:
    """A helper column holding SplitMix64(``source`` * golden + ``salt``): 64 random bits per row."""

    name: str
    salt: int
    source: pl.Expr


#: One level of helper columns; a level may only use columns of earlier levels.
Level = tuple[Hash | pl.Expr, ...]


@dataclass(frozen=True)
class EntityPlan:
    """How to compute one entity: levels of helper columns, then one typed expression per field."""

    levels: tuple[Level, ...]
    fields: dict[str, pl.Expr]  # datetime/date fields as Int64 epoch ms


def _run_levels(frame: pl.DataFrame, levels: Sequence[Level]) -> pl.DataFrame:
    """Materialise helper columns level by level.

    Hashes are computed in three materialised steps: polars expressions are trees, not graphs, so
    writing the finaliser as one expression would evaluate its input 8 times over (and 64 times for a
    hash of a hash).
    """
    for level in levels:
        hashes = [h for h in level if isinstance(h, Hash)]
        plain = [e for e in level if not isinstance(e, Hash)]
        first: list[pl.Expr] = list(plain)
        for h in hashes:
            z = h.source * _u(_GOLDEN) + _u(h.salt)
            first.append(((z ^ (z // 2**30)) * _u(_MIX1)).alias(h.name))
        frame = frame.with_columns(first)
        if hashes:
            frame = frame.with_columns(
                [((_c(h.name) ^ (_c(h.name) // 2**27)) * _u(_MIX2)).alias(h.name) for h in hashes]
            )
            frame = frame.with_columns([(_c(h.name) ^ (_c(h.name) // 2**31)).alias(h.name) for h in hashes])
    return frame


def _base_upd(index: pl.Expr) -> pl.Expr:
    return pl.lit(BASE_MS, dtype=pl.Int64) + index.cast(pl.Int64) * STEP_MS


def _padded_number(prefix: str, row_id: pl.Expr) -> pl.Expr:
    """``prefix`` + the id zero-padded to 8 digits (ids stay below 10**8)."""
    return pl.concat_str([pl.lit(prefix), (row_id + 100_000_000).cast(pl.String).str.slice(1)])


def _money(cents: pl.Expr) -> pl.Expr:
    # round(2) gives the double nearest to cents/100; a plain "/ 100" multiplies by 0.01 and does not
    return (cents.cast(pl.Float64) / 100).round(2)


def _day(ms: pl.Expr) -> pl.Expr:
    return ms // DAY_MS * DAY_MS


@dataclass(frozen=True)
class _Salts:
    customers: int
    items: int
    sales_orders: int
    sales_order_lines: int
    invoices: int


@dataclass(frozen=True)
class _Counts:
    customers: int
    items: int
    sales_orders: int


def _second(salt: int) -> int:
    """Salt of an entity's second independent hash ``_h2``."""
    return salt ^ _GOLDEN


def _versioned(salt: int) -> int:
    """Salt of an entity's version hash ``_hv`` (fields that change when a row is touched)."""
    return salt ^ _VERSION_SALT


def _own_hashes(salt: int) -> tuple[Hash, Hash, Hash]:
    """``_h`` and ``_h2`` (fixed per row) and ``_hv`` (new on every touch) of the row itself."""
    return (
        Hash("_h", salt, _I),
        Hash("_h2", _second(salt), _I),
        Hash("_hv", _versioned(salt), _I + _V * 2**40),
    )


# Shared derivations (used by more than one entity, so related rows agree) --------------------------


def _customer_of_order(order_hash: pl.Expr, counts: _Counts) -> pl.Expr:
    return _bits(order_hash, 0, counts.customers)


def _city_of_customer(customer_hash: pl.Expr) -> pl.Expr:
    return _bits(customer_hash, 0, _NC)


def _terms_of_customer(customer_hash: pl.Expr) -> pl.Expr:
    return _pick(_TERMS, _bits(customer_hash, 28, len(PAYMENT_TERMS_DAYS)))


def _item_of_line(line_hash: pl.Expr, counts: _Counts) -> pl.Expr:
    return _bits(line_hash, 0, counts.items)


def _item_price_cents(item_hash: pl.Expr) -> pl.Expr:
    return _bits(item_hash, 24, 99_950) + 50


def _item_description_index(item_hash: pl.Expr) -> pl.Expr:
    return (_bits(item_hash, 8, _NM) * _NP + _bits(item_hash, 0, _NP)) * _NS + _bits(item_hash, 16, _NS)


def _line_quantity(line_hash: pl.Expr) -> pl.Expr:
    return _bits(line_hash, 16, 20) + 1


def _line_discount(line_hash: pl.Expr) -> pl.Expr:
    return _pick(_DISCOUNTS, _bits(line_hash, 24, len(DISCOUNT_PERCENTS)))


def _line_amount_cents(line_hash: pl.Expr, item_hash: pl.Expr) -> pl.Expr:
    discount = _line_discount(line_hash)
    return _line_quantity(line_hash) * _item_price_cents(item_hash) * (100 - discount) // 100


def _order_lines(salts: _Salts, counts: _Counts, order_index: pl.Expr) -> tuple[Level, Level]:
    """Helper levels computing the hashes of an order's 3 lines (``_l0..2``) and items (``_i0..2``)."""
    lines = tuple(Hash(f"_l{k}", salts.sales_order_lines, order_index * 3 + k) for k in range(3))
    items = tuple(Hash(f"_i{k}", salts.items, _item_of_line(_c(f"_l{k}"), counts)) for k in range(3))
    return lines, items


def _order_total_cents() -> pl.Expr:
    """Sum of the line amounts, from the helper columns of :func:`_order_lines`."""
    amounts = [_line_amount_cents(_c(f"_l{k}"), _c(f"_i{k}")) for k in range(3)]
    return amounts[0] + amounts[1] + amounts[2]


def _order_created_ms(order_index: pl.Expr, order_hash2: pl.Expr) -> pl.Expr:
    return _base_upd(order_index) - _bits(order_hash2, 0, 7 * 86_400).cast(pl.Int64) * 1000


# Entity plans --------------------------------------------------------------------------------------

_ID = (_I + 1).cast(pl.Int64)


def _customers(salts: _Salts, counts: _Counts) -> EntityPlan:
    h, hv, h2 = _c("_h"), _c("_hv"), _c("_h2")
    city, combo = _c("_city"), _c("_combo")
    credit_units = _bits(h, 20, 100) + 1  # thousands
    levels: tuple[Level, ...] = (
        _own_hashes(salts.customers),
        (
            _city_of_customer(h).alias("_city"),
            (_bits(h, 8, len(_NAME_PAIRS)) * _NC + _city_of_customer(h)).alias("_combo"),
        ),
    )
    local_number = (_bits(h2, 4, 9_000_000) + 1_000_000).cast(pl.String)
    phone = pl.concat_str([_pick(_PHONE_PREFIXES, city), local_number])
    fields = {
        "id": _ID,
        "number": _padded_number("C", _ID),
        "name": _pick(_COMPANY_NAMES, combo),
        "email": pl.concat_str(
            [pl.lit("ap"), _ID.cast(pl.String), pl.lit("@"), _pick(_COMPANY_DOMAINS, combo)]
        ),
        "phone": pl.when(_bits(h2, 0, 10) == 0).then(pl.lit(None, dtype=pl.String)).otherwise(phone),
        "city": _pick(_CITY_NAMES, city),
        "country": _pick(_COUNTRIES, city),
        "currency": _pick(_CURRENCIES, city),
        "credit_limit": (credit_units * 1000).cast(pl.Float64),
        "balance": _money(hv % (credit_units * 100_000)),
        "payment_terms_days": _terms_of_customer(h),
        "is_active": _bits(hv, 40, 20) != 0,
        "created_at": _base_upd(_I) - _bits(h2, 30, 365 * 86_400).cast(pl.Int64) * 1000,
        "updated_at": _UPD,
    }
    return EntityPlan(levels, fields)


def _items(salts: _Salts, counts: _Counts) -> EntityPlan:
    h, hv, h2 = _c("_h"), _c("_hv"), _c("_h2")
    product = _bits(h, 0, _NP)
    price = _item_price_cents(h)
    current_price = pl.when(_V == 0).then(price).otherwise(price * (_bits(hv, 0, 11) + 95) // 100)
    fields = {
        "id": _ID,
        "number": _padded_number("I", _ID),
        "description": _pick(_ITEM_DESCRIPTIONS, _item_description_index(h)),
        "category": _pick(_CATEGORIES, product),
        "unit_of_measure": _pick(_UNITS, product),
        "unit_price": _money(current_price),
        "unit_cost": _money(price * (_bits(h2, 0, 40) + 40) // 100),
        "stock_quantity": _bits(hv, 8, 5000).cast(pl.Int64),
        "weight_kg": ((_bits(h2, 8, 50_000) + 1).cast(pl.Float64) / 1000).round(3),
        "is_blocked": _bits(hv, 24, 25) == 0,
        "created_at": _base_upd(_I) - _bits(h2, 30, 365 * 86_400).cast(pl.Int64) * 1000,
        "updated_at": _UPD,
    }
    return EntityPlan((_own_hashes(salts.items),), fields)


def _sales_orders(salts: _Salts, counts: _Counts) -> EntityPlan:
    h, hv, h2 = _c("_h"), _c("_hv"), _c("_h2")
    customer, created = _c("_customer"), _c("_created")
    lines, items = _order_lines(salts, counts, _I)
    levels: tuple[Level, ...] = (
        _own_hashes(salts.sales_orders) + lines,
        (
            *items,
            _customer_of_order(h, counts).alias("_customer"),
            _order_created_ms(_I, h2).alias("_created"),
        ),
        (Hash("_ch", salts.customers, customer), _order_total_cents().alias("_total")),
    )
    reference = pl.concat_str([pl.lit("PO-"), (_bits(h2, 34, 900_000) + 100_000).cast(pl.String)])
    fields = {
        "id": _ID,
        "number": _padded_number("SO", _ID),
        "customer_id": (customer + 1).cast(pl.Int64),
        "order_date": _day(created),
        "requested_delivery_date": _day(created) + (_bits(h2, 20, 21) + 3).cast(pl.Int64) * DAY_MS,
        "status": _pick(_ORDER_STATUSES, _bits(hv, 0, len(ORDER_STATUSES))),
        "currency": _pick(_CURRENCIES, _city_of_customer(_c("_ch"))),
        "line_count": pl.lit(3, dtype=pl.Int64),
        "total_amount": _money(_c("_total")),
        "external_reference": pl.when(_bits(h2, 30, 3) == 0)
        .then(reference)
        .otherwise(pl.lit(None, pl.String)),
        "is_priority": _bits(h2, 50, 10) == 0,
        "created_at": created,
        "updated_at": _UPD,
    }
    return EntityPlan(levels, fields)


def _sales_order_lines(salts: _Salts, counts: _Counts) -> EntityPlan:
    h, hv, ih = _c("_h"), _c("_hv"), _c("_ih")
    quantity = _line_quantity(h)
    levels: tuple[Level, ...] = (
        (
            Hash("_h", salts.sales_order_lines, _I),
            Hash("_hv", _versioned(salts.sales_order_lines), _I + _V * 2**40),
        ),
        (Hash("_ih", salts.items, _item_of_line(h, counts)),),
    )
    fields = {
        "id": _ID,
        "order_id": ((_I // 3) % counts.sales_orders + 1).cast(pl.Int64),
        "line_no": (_I % 3 + 1).cast(pl.Int64),
        "item_id": (_item_of_line(h, counts) + 1).cast(pl.Int64),
        "description": _pick(_ITEM_DESCRIPTIONS, _item_description_index(ih)),
        "quantity": quantity.cast(pl.Int64),
        "unit_price": _money(_item_price_cents(ih)),
        "discount_percent": _line_discount(h).cast(pl.Float64),
        "line_amount": _money(_line_amount_cents(h, ih)),
        "quantity_shipped": (hv % (quantity + 1)).cast(pl.Int64),
        "updated_at": _UPD,
    }
    return EntityPlan(levels, fields)


def _invoices(salts: _Salts, counts: _Counts) -> EntityPlan:
    hv, h2 = _c("_hv"), _c("_h2")
    order, customer, ch = _c("_order"), _c("_customer"), _c("_ch")
    net, tax, created = _c("_net"), _c("_tax"), _c("_created")
    order_index = _I % counts.sales_orders
    lines, items = _order_lines(salts, counts, order_index)
    levels: tuple[Level, ...] = (
        (
            *_own_hashes(salts.invoices),
            *lines,
            Hash("_oh", salts.sales_orders, order_index),
            Hash("_oh2", _second(salts.sales_orders), order_index),
            order_index.alias("_order"),
        ),
        (
            *items,
            _customer_of_order(_c("_oh"), counts).alias("_customer"),
            _order_created_ms(order, _c("_oh2")).alias("_order_created"),
        ),
        (
            Hash("_ch", salts.customers, customer),
            _order_total_cents().alias("_net"),
            # created between the order's creation and the invoice's base updated_at
            # whole seconds, like every other timestamp (OData V2 would otherwise show milliseconds)
            (
                (
                    _c("_order_created")
                    + (_base_upd(_I) - _c("_order_created")) * _bits(h2, 0, 1000).cast(pl.Int64) // 1000
                )
                // 1000
                * 1000
            ).alias("_created"),
        ),
        (((net * _pick(_VAT_PERCENTS, _city_of_customer(ch)) + 50) // 100).alias("_tax"),),
    )
    status = _bits(hv, 0, len(INVOICE_STATUSES))
    total = net + tax
    paid = (
        pl.when(status.is_in(_PAID_STATUSES))
        .then(total)
        .when(status.is_in(_OVERDUE_STATUSES))
        .then(total * _bits(hv, 8, 50) // 100)
        .otherwise(_u(0))
    )
    fields = {
        "id": _ID,
        "number": _padded_number("INV", _ID),
        "order_id": (order + 1).cast(pl.Int64),
        "customer_id": (customer + 1).cast(pl.Int64),
        "invoice_date": _day(created),
        "due_date": _day(created) + _terms_of_customer(ch) * DAY_MS,
        "currency": _pick(_CURRENCIES, _city_of_customer(ch)),
        "net_amount": _money(net),
        "tax_amount": _money(tax),
        "total_amount": _money(total),
        "paid_amount": _money(paid),
        "status": _pick(_INVOICE_STATUSES, status),
        "created_at": created,
        "updated_at": _UPD,
    }
    return EntityPlan(levels, fields)


_PLANS: dict[str, Callable[[_Salts, _Counts], EntityPlan]] = {
    "customers": _customers,
    "items": _items,
    "sales_orders": _sales_orders,
    "sales_order_lines": _sales_order_lines,
    "invoices": _invoices,
}


# ISO 8601 by table lookup: 1.7x (timestamps) to 3.5x (dates) faster than strftime, measured on 4,096 rows.
_FIRST_DAY = date(1970, 1, 1)
_DAYS = 120_000  # up to the year 2298: ids stop at 10**8 minutes after 2024
_DATES = _table([(_FIRST_DAY + timedelta(days=d)).isoformat() for d in range(_DAYS)], pl.String)
_TIMES = _table([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86_400)], pl.String)


def _iso_date(ms: pl.Expr) -> pl.Expr:
    return _pick(_DATES, (ms // DAY_MS).clip(0, _DAYS - 1))


def _iso_datetime(ms: pl.Expr) -> pl.Expr:
    """Whole seconds as ``2024-01-01T00:00:00Z`` (every generated timestamp is whole seconds)."""
    return pl.concat_str([_iso_date(ms), _pick(_TIMES, ms % DAY_MS // 1000)])


def _styled(spec: EntitySpec, plan: EntityPlan, fmt: DateFormat) -> pl.Expr:
    exprs: list[pl.Expr] = []
    for field in spec.fields:
        expr = plan.fields[field.name]
        if field.kind in (Kind.DATETIME, Kind.DATE):
            if fmt is DateFormat.DOTNET:
                expr = pl.format("/Date({})/", expr)
            elif field.kind is Kind.DATETIME:
                expr = _iso_datetime(expr)
            else:
                expr = _iso_date(expr)
        exprs.append(expr.alias(field.name))
    return pl.struct(exprs).struct.json_encode().alias("json")


@dataclass(frozen=True)
class RenderedRows:
    """Rows rendered as JSON objects joined by commas, with the byte offset where each row ends."""

    blob: bytes
    ends: list[int]

    def __len__(self) -> int:
        return len(self.ends)

    def segment(self, start: int, stop: int) -> memoryview:
        """Rows ``start .. stop-1`` as ``{...},{...}`` (no copy)."""
        first = 0 if start == 0 else self.ends[start - 1] + 1
        return memoryview(self.blob)[first : self.ends[stop - 1]]


class RowGenerator:
    """Renders rows of one ERP tenant's entities as JSON objects."""

    def __init__(self, seed: int, tenant: str, counts: Mapping[str, int]) -> None:
        self._salts = _Salts(**{name: salt_for(seed, tenant, name) for name in _PLANS})
        self._counts = _Counts(counts["customers"], counts["items"], counts["sales_orders"])
        self._plans: dict[str, EntityPlan] = {}
        self._json: dict[tuple[str, DateFormat], pl.Expr] = {}

    def render(self, spec: EntitySpec, rows: pl.DataFrame, fmt: DateFormat) -> RenderedRows:
        """Rows (a frame from :func:`rows_frame`) rendered as JSON objects, in order."""
        if rows.height == 0:
            return RenderedRows(b"", [])
        key = (spec.name, fmt)
        expr = self._json.get(key)
        if expr is None:
            expr = self._json[key] = _styled(spec, self._plan(spec), fmt)
        json = _run_levels(rows, self._plan(spec).levels).select(expr).to_series()
        # Binary crosses into Python as one bytes object; a str (or a list of them) costs 10x more
        blob = json.str.join(",").cast(pl.Binary).item()
        ends = (json.str.len_bytes().cum_sum() + pl.int_range(0, json.len(), eager=True)).to_list()
        return RenderedRows(blob, ends)

    def _plan(self, spec: EntitySpec) -> EntityPlan:
        plan = self._plans.get(spec.name)
        if plan is None:
            plan = self._plans[spec.name] = _PLANS[spec.name](self._salts, self._counts)
        return plan


def rows_frame(runs: Sequence[tuple[int, int]], refs: Sequence[RowRef] = ()) -> pl.DataFrame:
    """The generator's input: untouched base rows of ``runs`` (version 0), then the rows of ``refs``."""
    frames: list[pl.DataFrame] = []
    for start, stop in runs:
        index = pl.int_range(start, stop, dtype=_U64, eager=True).alias("i")
        frames.append(
            pl.DataFrame([index]).with_columns(pl.lit(0, dtype=_U64).alias("v"), _base_upd(_I).alias("upd"))
        )
    if refs or not frames:
        frames.append(
            pl.DataFrame(
                {
                    "i": [r.index for r in refs],
                    "v": [r.version for r in refs],
                    "upd": [r.updated_ms for r in refs],
                },
                schema={"i": _U64, "v": _U64, "upd": pl.Int64},
            )
        )
    return frames[0] if len(frames) == 1 else pl.concat(frames)
