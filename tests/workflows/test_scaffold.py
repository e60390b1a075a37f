"""``scaffold_workflow``: the YAML it writes is complete and valid for the SDK it was written from (extract
per operation, load with key and a mapping of every field), and what it cannot write is a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from erp_platform._errors import ValidationFailed
from erp_platform.workflows import (
    InMemorySdkCatalog,
    ScaffoldRequest,
    catalog_entry_from_sdk_spec,
    load_document,
    parse_definition,
    plan_loads,
    scaffold_workflow,
    validate_definition,
)
from tests.workflows.samples import xero_like_spec

SDK = catalog_entry_from_sdk_spec(xero_like_spec(), version=2, status="ACTIVE")
CATALOG = InMemorySdkCatalog([SDK])

EXPECTED = """\
# Workflow scaffolded from SDK books v2 (list_contacts, list_invoices).
# Edit freely: every mapping lists all fields of the records (source: the ERP's name, exactly;
# target: the table column; type: its Postgres type). Remove the columns you do not want.
id: books_sync
description: "books: Contacts, Invoices"
activities:
  - id: contacts
    type: extract
    description: "GET Contacts (list_contacts)"
    config:
      sdk: books
      operation: list_contacts
      page_size: 100  # paging: page; the ERP returns 100 records a page
      incremental: true  # reads records changed since the last run (UpdatedDateUTC)
  - id: load_contacts
    type: load
    config:
      table: contacts
      business_key: [contact_id]
      mapping:
        columns:
          - {source: ContactID, target: contact_id, type: text}
          - {source: Name, target: name, type: text}
          - {source: name, target: name_2, type: text}
          - {source: "@odata.etag", target: odata_etag, type: text}
          - {source: UpdatedDateUTC, target: updated_date_utc, type: timestamptz}
          - {source: Balance, target: balance, type: "numeric(38,10)"}
          - {source: Addresses, target: addresses, type: jsonb}
  - id: invoices
    type: extract
    description: "GET Invoices (list_invoices)"
    config:
      sdk: books
      operation: list_invoices
      params: {tenant_id: "t-1"}
      page_size: 200  # paging: offset limit; the ERP accepts at most 200
      incremental: false  # the SDK names no change field: set cursor_field to enable
  - id: load_invoices
    type: load
    config:
      table: invoices
      business_key: [invoice_id]
      mapping:
        columns:
          - {source: InvoiceID, target: invoice_id, type: text}
          - {source: "Contact.ContactID", target: contact_contact_id, type: text}
          - {source: Total, target: total, type: "double precision"}
          - {source: LastChangeDateTime, target: last_change_date_time, type: timestamptz}
steps:
  - {activity: contacts}
  - {activity: load_contacts, depends_on: [contacts]}
  - {activity: invoices}
  - {activity: load_invoices, depends_on: [invoices]}
# triggers:
#   - {type: schedule, cron: "0 * * * *", timezone: UTC}
"""


def test_scaffold_writes_every_field_with_its_column_and_type() -> None:
    text = scaffold_workflow(SDK, ScaffoldRequest(operations=("list_contacts", "list_invoices"),
                                                  params={"tenant_id": "t-1", "unused": "x"}))
    assert text == EXPECTED


def test_the_scaffold_is_valid_as_written_and_plans_every_load() -> None:
    definition = parse_definition(EXPECTED, filename="books_sync.yaml")
    assert validate_definition(definition, catalog=CATALOG) == []
    plans, problems = plan_loads(definition, catalog=CATALOG)
    assert problems == []
    assert plans["load_contacts"].business_key == ("contact_id",)
    assert plans["load_invoices"].key_origin == "given"
    # the YAML reads back to exactly the names of the SDK (quoting where YAML needs it)
    columns = load_document(EXPECTED, filename="x.yaml")["activities"][1]["config"]["mapping"]["columns"]
    assert [c["source"] for c in columns] == list(SDK.operations[0].fields)


def test_a_key_can_be_given_where_the_sdk_declares_none() -> None:
    sdk = catalog_entry_from_sdk_spec(xero_like_spec(primary_key=[]), version=1)
    text = scaffold_workflow(sdk, ScaffoldRequest(operations=("list_contacts",), workflow_id="mine",
                                                  keys={"list_contacts": ("Name", "name")}))
    assert "      business_key: [name, name_2]\n" in text
    assert text.splitlines()[3] == "id: mine"
    assert validate_definition(parse_definition(text, filename="x.yaml"),
                               catalog=InMemorySdkCatalog([sdk])) == []


BAD: list[Any] = [
    pytest.param(
        {"operations": ("list_contact", "get_contact")},
        ["operations[0]: SDK books v2 has no operation 'list_contact' (did you mean 'list_contacts'?); its "
         "collection reads: list_contacts, list_invoices, list_notes (received: 'list_contact')",
         "operations[1]: SDK books v2 has no operation 'get_contact' (did you mean 'list_contacts'?); its "
         "collection reads: list_contacts, list_invoices, list_notes (received: 'get_contact')"],
        id="unknown_operations",
    ),
    pytest.param(
        {"operations": ("list_invoices", "list_notes")},
        ["operations[0]: operation 'list_invoices' needs parameter tenant_id: pass --param tenant_id=VALUE "
         "(received: 'list_invoices')",
         "operations[1]: operation 'list_notes' declares no record fields (its spec describes no schema for the "
         "records): choose another operation (received: 'list_notes')"],
        id="missing_param_and_no_fields",
    ),
    pytest.param(
        {"operations": ("list_contacts",), "keys": {"list_contacts": ("ContactId",), "list_invoices": ("x",)}},
        ["keys.list_contacts: operation 'list_contacts' has no field 'ContactId' (did you mean 'ContactID'?) "
         "(received: ['ContactId'])",
         "keys.list_invoices: --key names operation 'list_invoices', which is not scaffolded (list_contacts) "
         "(received: 'list_invoices')"],
        id="bad_keys",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), BAD)
def test_what_cannot_be_scaffolded_says_why_and_how(request_: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(ValidationFailed) as info:
        scaffold_workflow(SDK, ScaffoldRequest.model_validate(request_))
    assert [p.render() for p in info.value.problems] == expected
    assert str(info.value).startswith(f"cannot scaffold a workflow from SDK books v2: {len(expected)} problem")


def test_no_primary_key_names_the_key_option() -> None:
    sdk = catalog_entry_from_sdk_spec(xero_like_spec(primary_key=[]), version=1)
    with pytest.raises(ValidationFailed) as info:
        scaffold_workflow(sdk, ScaffoldRequest(operations=("list_contacts",)))
    assert [p.render() for p in info.value.problems] == [
        "operations[0]: operation 'list_contacts' declares no primary key: pass --key list_contacts=FIELD (the "
        "field(s) identifying a record, comma-separated; fields: ContactID, Name, name, @odata.etag, "
        "UpdatedDateUTC, Balance, Addresses) (received: 'list_contacts')"
    ]
