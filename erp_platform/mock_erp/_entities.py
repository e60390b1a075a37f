"""The mock ERP's entities: their fields, names in each API style, and row counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from erp_platform.mock_erp._errors import UnknownEntityError


class ApiStyle(StrEnum):
    """One of the three API styles the mock ERP serves over the same data."""

    ODATA_V4 = "odata_v4"
    ODATA_V2 = "odata_v2"
    REST = "rest"


class DateFormat(StrEnum):
    """How dates and timestamps are written: ISO 8601 or the .NET ``/Date(ms)/`` of OData V2."""

    ISO = "iso"
    DOTNET = "dotnet"


class Kind(StrEnum):
    """The JSON type of a field (``datetime`` and ``date`` are strings whose format depends on the style)."""

    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DATE = "date"


@dataclass(frozen=True)
class FieldSpec:
    """One field of an entity."""

    name: str
    kind: Kind
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class EntitySpec:
    """One entity and how each API style names it."""

    name: str  # canonical snake_case name, e.g. "sales_orders"
    title: str  # schema name, e.g. "SalesOrder"
    rest_path: str  # "/api/v1/<rest_path>"
    v4_set: str  # "/odata/v4/companies({tenant})/<v4_set>"
    v2_set: str  # "/odata/v2/<v2_set>"
    description: str
    fields: tuple[FieldSpec, ...]

    def count(self, rows: int) -> int:
        """Number of generated rows of this entity for a configured ``rows``."""
        return _COUNTS[self.name](rows)

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _same(rows: int) -> int:
    return rows


def _tenth(rows: int) -> int:
    return max(rows // 10, 10)


def _triple(rows: int) -> int:
    return rows * 3


_COUNTS: dict[str, Callable[[int], int]] = {
    "customers": _same,
    "items": _tenth,
    "sales_orders": _same,
    "sales_order_lines": _triple,
    "invoices": _same,
}

_I, _N, _S, _B, _DT, _D = Kind.INTEGER, Kind.NUMBER, Kind.STRING, Kind.BOOLEAN, Kind.DATETIME, Kind.DATE

_ID = FieldSpec("id", _I, "Unique key of the record (1, 2, 3, ...).")
_CREATED = FieldSpec("created_at", _DT, "When the record was created (UTC).")
_UPDATED = FieldSpec(
    "updated_at",
    _DT,
    "When the record last changed (UTC); strictly increasing, use it as an incremental cursor.",
)

CUSTOMERS = EntitySpec(
    name="customers",
    title="Customer",
    rest_path="customers",
    v4_set="customers",
    v2_set="Customers",
    description="Customers (sold-to parties).",
    fields=(
        _ID,
        FieldSpec("number", _S, "Customer number, e.g. C00000042."),
        FieldSpec("name", _S, "Company name."),
        FieldSpec("email", _S, "Accounts-payable e-mail address."),
        FieldSpec("phone", _S, "Phone number; null when unknown.", nullable=True),
        FieldSpec("city", _S, "City of the billing address."),
        FieldSpec("country", _S, "ISO 3166-1 alpha-2 country code."),
        FieldSpec("currency", _S, "ISO 4217 currency code the customer is invoiced in."),
        FieldSpec("credit_limit", _N, "Credit limit in the customer's currency."),
        FieldSpec("balance", _N, "Open balance in the customer's currency (2 decimals)."),
        FieldSpec("payment_terms_days", _I, "Days until an invoice is due."),
        FieldSpec("is_active", _B, "False when the customer is blocked."),
        _CREATED,
        _UPDATED,
    ),
)

ITEMS = EntitySpec(
    name="items",
    title="Item",
    rest_path="items",
    v4_set="items",
    v2_set="Items",
    description="Items (products) that can be sold.",
    fields=(
        _ID,
        FieldSpec("number", _S, "Item number, e.g. I00000042."),
        FieldSpec("description", _S, "Item description."),
        FieldSpec("category", _S, "Item category."),
        FieldSpec("unit_of_measure", _S, "Base unit of measure (PCS, BOX, KG, M)."),
        FieldSpec("unit_price", _N, "Current sales price per unit (2 decimals)."),
        FieldSpec("unit_cost", _N, "Cost per unit (2 decimals)."),
        FieldSpec("stock_quantity", _I, "Units in stock."),
        FieldSpec("weight_kg", _N, "Weight per unit in kilograms (3 decimals)."),
        FieldSpec("is_blocked", _B, "True when the item may not be sold."),
        _CREATED,
        _UPDATED,
    ),
)

SALES_ORDERS = EntitySpec(
    name="sales_orders",
    title="SalesOrder",
    rest_path="sales-orders",
    v4_set="salesOrders",
    v2_set="SalesOrders",
    description="Sales order headers.",
    fields=(
        _ID,
        FieldSpec("number", _S, "Order number, e.g. SO00000042."),
        FieldSpec("customer_id", _I, "The ordering customer (customers.id)."),
        FieldSpec("order_date", _D, "Order date."),
        FieldSpec("requested_delivery_date", _D, "Delivery date the customer asked for."),
        FieldSpec("status", _S, "Open, Released, Shipped, Invoiced or Cancelled."),
        FieldSpec("currency", _S, "ISO 4217 currency code of the order (the customer's currency)."),
        FieldSpec("line_count", _I, "Number of order lines."),
        FieldSpec("total_amount", _N, "Net total: the sum of the lines' line_amount (2 decimals)."),
        FieldSpec("external_reference", _S, "The customer's purchase order number, if any.", nullable=True),
        FieldSpec("is_priority", _B, "True for rush orders."),
        _CREATED,
        _UPDATED,
    ),
)

SALES_ORDER_LINES = EntitySpec(
    name="sales_order_lines",
    title="SalesOrderLine",
    rest_path="sales-order-lines",
    v4_set="salesOrderLines",
    v2_set="SalesOrderLines",
    description="Sales order lines (three per generated order).",
    fields=(
        _ID,
        FieldSpec("order_id", _I, "The order this line belongs to (sales_orders.id)."),
        FieldSpec("line_no", _I, "Line number within the order (1, 2, 3)."),
        FieldSpec("item_id", _I, "The item sold (items.id)."),
        FieldSpec("description", _S, "Item description at the time of ordering."),
        FieldSpec("quantity", _I, "Units ordered."),
        FieldSpec("unit_price", _N, "Price per unit at the time of ordering (2 decimals)."),
        FieldSpec("discount_percent", _N, "Line discount in percent."),
        FieldSpec("line_amount", _N, "quantity * unit_price less the discount (2 decimals)."),
        FieldSpec("quantity_shipped", _I, "Units shipped so far."),
        _UPDATED,
    ),
)

INVOICES = EntitySpec(
    name="invoices",
    title="Invoice",
    rest_path="invoices",
    v4_set="invoices",
    v2_set="Invoices",
    description="Sales invoices (one per generated order).",
    fields=(
        _ID,
        FieldSpec("number", _S, "Invoice number, e.g. INV00000042."),
        FieldSpec("order_id", _I, "The invoiced order (sales_orders.id)."),
        FieldSpec("customer_id", _I, "The invoiced customer (customers.id)."),
        FieldSpec("invoice_date", _D, "Invoice date."),
        FieldSpec("due_date", _D, "Payment due date."),
        FieldSpec("currency", _S, "ISO 4217 currency code."),
        FieldSpec("net_amount", _N, "Amount before tax (2 decimals)."),
        FieldSpec("tax_amount", _N, "Tax amount (2 decimals)."),
        FieldSpec("total_amount", _N, "net_amount + tax_amount (2 decimals)."),
        FieldSpec("paid_amount", _N, "Amount paid so far (2 decimals)."),
        FieldSpec("status", _S, "Open, Paid, Overdue or Cancelled."),
        _CREATED,
        _UPDATED,
    ),
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec for spec in (CUSTOMERS, ITEMS, SALES_ORDERS, SALES_ORDER_LINES, INVOICES)
}

#: Entity names in a stable order.
ENTITY_NAMES: tuple[str, ...] = tuple(ENTITIES)

REST_PATHS: dict[str, EntitySpec] = {spec.rest_path: spec for spec in ENTITIES.values()}
V4_SETS: dict[str, EntitySpec] = {spec.v4_set: spec for spec in ENTITIES.values()}
V2_SETS: dict[str, EntitySpec] = {spec.v2_set: spec for spec in ENTITIES.values()}


def entity_spec(name: str) -> EntitySpec:
    """Look up an entity by canonical name; raises :class:`UnknownEntityError` naming the known ones."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise UnknownEntityError(f"unknown entity {name!r}: use one of {', '.join(ENTITY_NAMES)}") from None
