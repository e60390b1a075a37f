"""Shared test data: an ERP SDK spec (in the shape ``catalog_entry_from_sdk_spec`` documents) and a
valid workflow definition that uses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update

from erp_platform.registry import SdkVersion, Tenant
from erp_platform.workflows import InMemorySdkCatalog, SdkInfo, SdkStatus, catalog_entry_from_sdk_spec


def _param(name: str, *, required: bool = False, location: str = "query") -> dict[str, Any]:
    return {"name": name, "wire_name": name, "location": location, "required": required}


def acme_spec(*, extra_operations: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """An SdkSpec dump with collection reads (one incremental), a single read and a POST."""
    company = _param("company_id", required=True, location="path")
    return {
        "name": "acme_erp",
        "base_url": "https://erp.example.com/api/",
        "operations": [
            {"id": "list_orders", "method": "GET", "resource": "orders", "collection": True,
             "entity": "Order", "parameters": [company, _param("status"), _param("_page_size")],
             "incremental": {"field": "updated_at", "mode": "query_param", "param": "updated_since"}},
            {"id": "list_customers", "method": "GET", "resource": "customers", "collection": True,
             "entity": "Customer",
             "parameters": [company, _param("X-Trace", required=True, location="header")],
             "incremental": None},
            {"id": "get_customer", "method": "GET", "resource": "customers", "collection": False,
             "entity": "Customer",
             "parameters": [company, _param("customer_id", required=True, location="path")]},
            {"id": "create_invoice", "method": "POST", "resource": "invoices", "collection": False,
             "entity": None, "parameters": [company]},
            *extra_operations,
        ],
        "entities": [
            {"name": "Order", "keys": ["id"], "fields": [
                {"name": "id", "kind": "integer"},
                {"name": "customer_id", "kind": "integer"},
                {"name": "status", "kind": "string"},
                {"name": "total", "kind": "decimal"},
                {"name": "updated_at", "kind": "datetime"},
            ]},
            {"name": "Customer", "keys": ["id"], "fields": [
                {"name": "id", "kind": "integer"},
                {"name": "name", "kind": "string"},
            ]},
        ],
    }


def xero_like_spec(*, primary_key: list[str] | None = None) -> dict[str, Any]:
    """An SdkSpec dump shaped like a real accounting API: PascalCase fields, a key named ContactID."""
    return {
        "name": "books",
        "operations": [
            {"id": "list_contacts", "method": "GET", "path": "Contacts", "resource": "Contacts", "collection": True,
             "entity": "Contact", "primary_key": ["ContactID"] if primary_key is None else primary_key,
             "pagination": {"style": "page", "fixed_page_size": 100},
             "incremental": {"field": "UpdatedDateUTC", "mode": "header", "param": "If-Modified-Since"}},
            {"id": "list_invoices", "method": "GET", "path": "tenants/{tenant_id}/Invoices", "resource": "Invoices",
             "collection": True,
             "entity": "Invoice", "primary_key": ["InvoiceID"],
             "pagination": {"style": "offset_limit", "max_page_size": 200},
             "incremental": {"mode": "query_param", "param": "modifiedSince"},
             "parameters": [{"name": "tenant_id", "location": "path", "required": True}]},
            {"id": "list_notes", "method": "GET", "resource": "Notes", "collection": True, "entity": "Note"},
        ],
        "entities": [
            {"name": "Contact", "fields": [
                {"name": "ContactID", "kind": "string"},
                {"name": "Name", "kind": "string"},
                {"name": "name", "kind": "string"},
                {"name": "@odata.etag", "kind": "string"},
                {"name": "UpdatedDateUTC", "kind": "datetime"},
                {"name": "Balance", "kind": "decimal"},
                {"name": "Addresses", "kind": "json"},
            ]},
            {"name": "Invoice", "fields": [
                {"name": "InvoiceID", "kind": "string"},
                {"name": "Contact.ContactID", "kind": "string"},
                {"name": "Total", "kind": "number"},
                {"name": "LastChangeDateTime", "kind": "datetime"},
            ]},
        ],
    }


def acme(version: int = 1, status: SdkStatus = "ACTIVE") -> SdkInfo:
    return catalog_entry_from_sdk_spec(acme_spec(), version=version, status=status)


CATALOG = InMemorySdkCatalog([acme(1, "ACTIVE")])

VALID = """\
id: orders_sync
description: Orders with their customer's name into sales_orders
activities:
  - id: orders
    type: extract
    config:
      sdk: acme_erp
      operation: list_orders
      params: {company_id: c1}
      incremental: true
  - id: customers
    type: extract
    config: {sdk: acme_erp, operation: list_customers, params: {company_id: c1}}
  - id: enriched
    type: transform
    config:
      input: orders
      steps:
        - {op: filter, expr: "status != 'cancelled'"}
        - op: join
          with: customers
          on: {customer_id: id}
          select: [name]
          prefix: customer_
  - id: load_orders
    type: load
    config:
      table: sales_orders
      business_key: [order_id]
      mapping:
        columns:
          - {source: id, target: order_id, type: bigint, nullable: false}
          - {source: customer_name, target: customer, type: text}
          - {source: total, target: amount, type: "numeric(12,2)"}
steps:
  - {activity: orders}
  - {activity: customers}
  - {activity: enriched, depends_on: [orders, customers]}
  - {activity: load_orders, depends_on: [enriched]}
triggers:
  - {type: schedule, cron: "0 * * * *", timezone: Europe/Berlin}
  - {type: sensor, kind: erp_change, activity: orders}
compatibility:
  required_capabilities: ["read:orders"]
"""


def insert_sdk(
    engine: Engine,
    tenant: str,
    *,
    version: int = 1,
    status: str = "ACTIVE",
    spec: dict[str, Any] | None = None,
    name: str = "acme_erp",
    capabilities: list[str] | None = None,
) -> None:
    """Store an SDK version row for ``tenant`` with an ``sdk_spec`` in the documented shape."""
    spec = spec if spec is not None else acme_spec()
    with engine.begin() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.slug == tenant)).scalar_one()
        conn.execute(insert(SdkVersion).values(
            tenant_id=tenant_id, name=name, version=version, status=status, spec_hash="0" * 64,
            code_hash="1" * 64, builder_version="test", sdk_spec=spec, manifest={},
            capabilities=capabilities or [], allowed_domains=[], operation_count=len(spec["operations"]),
            skipped_operations=[], test_results={}, security_scan={},
        ))


def set_sdk_status(engine: Engine, tenant: str, version: int, status: str, name: str = "acme_erp") -> None:
    with engine.begin() as conn:
        tenant_id = conn.execute(select(Tenant.id).where(Tenant.slug == tenant)).scalar_one()
        conn.execute(update(SdkVersion).where(SdkVersion.tenant_id == tenant_id, SdkVersion.name == name,
                                              SdkVersion.version == version).values(status=status))
