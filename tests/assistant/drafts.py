"""Workflow definitions the scripted model submits in the tests."""

from __future__ import annotations

from typing import Any


def crm_definition(*, workflow: str = "crm_sync", name_source: str = "name", sensor: bool = False,
                   sdk: str = "mock_erp", table: str = "crm_customers") -> dict[str, Any]:
    """Customers -> crm_customers, hourly; ``name_source`` lets a test submit an invented field."""
    triggers: list[dict[str, Any]] = [{"type": "schedule", "cron": "0 * * * *"}]
    if sensor:
        triggers.append({"type": "sensor", "kind": "erp_change", "activity": "customers"})
    return {
        "id": workflow,
        "description": "customers into the CRM table",
        "activities": [
            {"id": "customers", "type": "extract",
             "config": {"sdk": sdk, "operation": "list_customers", "incremental": True}},
            {"id": "load_crm", "type": "load",
             "config": {"input": "customers", "table": table, "business_key": ["customer_id"],
                        "mapping": {"columns": [
                            {"source": "id", "target": "customer_id", "type": "bigint", "nullable": False},
                            {"source": name_source, "target": "customer_name", "type": "text"},
                            {"source": "country", "target": "country", "type": "text"},
                            {"source": "updated_at", "target": "erp_updated_at", "type": "timestamptz"},
                        ]}}},
        ],
        "steps": [{"activity": "customers"}, {"activity": "load_crm", "depends_on": ["customers"]}],
        "triggers": triggers,
    }
