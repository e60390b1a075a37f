"""Workflows the orchestration tests apply."""

from __future__ import annotations


def small_sync(table: str = "customers") -> str:
    """A two-activity workflow: the mock ERP's customers (pages of 100) loaded into ``table`` by id."""
    return f"""
id: small_sync
activities:
  - id: customers
    type: extract
    config: {{sdk: mock_erp, operation: list_customers, page_size: 100}}
  - id: load
    type: load
    config:
      table: {table}
      business_key: [customer_id]
      mapping:
        columns:
          - {{source: id, target: customer_id, type: bigint, nullable: false}}
          - {{source: name, target: name, type: text}}
steps:
  - {{activity: customers}}
  - {{activity: load, depends_on: [customers]}}
"""
