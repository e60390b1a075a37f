"""The offline intent path: the common requests understood, resolved against the tenant's catalog."""

from __future__ import annotations

import pytest

from assistant import Intent, parse_intent, parse_schedule, resolve_operation
from assistant._intent import not_understood
from tests.assistant.specs import mock_catalog


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("every hour", "0 * * * *"), ("hourly", "0 * * * *"), ("every 15 minutes", "*/15 * * * *"),
        ("every two hours", "0 */2 * * *"), ("daily", "0 0 * * *"), ("every day at 6am", "0 6 * * *"),
        ("daily at 18:30", "30 18 * * *"), ("every night", "0 2 * * *"), ("weekly", "0 0 * * 1"),
        ("every monday at 7am", "0 7 * * 1"), ("every morning", "0 6 * * *"), ("once", None),
    ],
)
def test_schedules(text: str, cron: str | None) -> None:
    assert parse_schedule(text) == cron


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("sync customers into crm_customers every hour",
         Intent(kind="sync", entity="customers", table="crm_customers", cron="0 * * * *")),
        ("Load all sales orders to orders daily at 6am incrementally",
         Intent(kind="sync", entity="sales orders", table="orders", cron="0 6 * * *", incremental=True)),
        ("copy items", Intent(kind="sync", entity="items")),
        ("import invoices into ar_invoices keyed by invoice_no every night",
         Intent(kind="sync", entity="invoices", table="ar_invoices", cron="0 2 * * *", key=("invoice_no",))),
        ("sync customers with tenant=acme into c", Intent(kind="sync", entity="customers", table="c",
                                                            params={"tenant": "acme"})),
        ("add a sensor on new orders", Intent(kind="add_sensor", entity="orders", sensor=True, incremental=True)),
        ("run sales_sync when orders change",
         Intent(kind="add_sensor", entity="orders", workflow="sales_sync", sensor=True, incremental=True)),
        ("run sales_sync every 15 minutes", Intent(kind="schedule", workflow="sales_sync", cron="*/15 * * * *")),
    ],
)
def test_intents(text: str, intent: Intent) -> None:
    assert parse_intent(text) == intent


def test_not_understood_says_what_is() -> None:
    assert parse_intent("what is the weather") is None
    assert not_understood("what is the weather") == (
        "the offline assistant did not understand 'what is the weather': it understands requests like "
        "\"sync customers into crm_customers every hour\", \"load sales orders to orders daily at 6am\", "
        "\"add a sensor on new orders\", \"run sales_sync every 15 minutes\"; with the AI provider on, any "
        "wording works"
    )


@pytest.mark.parametrize(
    ("phrase", "operation"),
    [("customers", "list_customers"), ("sales orders", "list_sales_orders"), ("orders", "list_sales_orders"),
     ("order lines", "list_sales_order_lines"), ("products", "list_items"), ("invoices", "list_invoices"),
     ("clients", "list_customers")],
)
def test_entities_resolve_to_operations_without_required_params(phrase: str, operation: str) -> None:
    ranked = resolve_operation(phrase, mock_catalog())
    assert ranked[0][1].name == operation


def test_given_params_let_operations_that_need_them_compete() -> None:
    ranked = resolve_operation("customers", mock_catalog(), {"tenant": "acme"})
    assert {op.name for _, op in ranked[:3]} >= {"list_customers", "odata_v4_list_customers"}
