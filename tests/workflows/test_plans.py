"""Load plans over an ERP whose records keep their own names: derived mappings, business keys from the SDK's
primary key or from source fields, cursor fields, and the problems that name the path and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from erp_platform.workflows import (
    ExtractConfig,
    InMemoryMappingSource,
    InMemorySdkCatalog,
    InvalidDefinitionError,
    catalog_entry_from_sdk_spec,
    parse_definition,
    plan_loads,
    validate_definition,
)
from tests.workflows.samples import xero_like_spec


def catalog(**options: Any) -> InMemorySdkCatalog:
    return InMemorySdkCatalog([catalog_entry_from_sdk_spec(xero_like_spec(**options), version=1)])


def plans_of(text: str, **options: Any) -> tuple[dict[str, Any], list[str]]:
    try:
        definition = parse_definition(text, filename="wf.yaml")
    except InvalidDefinitionError as exc:
        return {}, [p.render() for p in exc.problems]
    plans, problems = plan_loads(definition, catalog=catalog(**options), mappings=InMemoryMappingSource())
    return plans, [p.render() for p in problems]


DERIVED = """
id: contacts_sync
activities:
  - {id: contacts, type: extract, config: {sdk: books, operation: list_contacts, incremental: true}}
  - {id: load_contacts, type: load, config: {table: contacts}}
steps:
  - {activity: contacts}
  - {activity: load_contacts, depends_on: [contacts]}
"""


def test_a_load_without_mapping_or_key_loads_every_field_on_the_sdk_key() -> None:
    plans, problems = plans_of(DERIVED)
    assert problems == []
    plan = plans["load_contacts"]
    assert plan.mapping_origin == "derived"
    assert (plan.key_origin, plan.key_source, plan.business_key) == ("sdk", ("ContactID",), ("contact_id",))
    assert [(c.source, c.target, c.type) for c in plan.mapping.columns] == [
        ("ContactID", "contact_id", "text"),
        ("Name", "name", "text"),
        ("name", "name_2", "text"),
        ("@odata.etag", "odata_etag", "text"),
        ("UpdatedDateUTC", "updated_date_utc", "timestamptz"),
        ("Balance", "balance", "numeric(38,10)"),
        ("Addresses", "addresses", "jsonb"),
    ]


def test_the_key_follows_the_records_through_a_transform() -> None:
    text = """
id: contacts_sync
activities:
  - {id: contacts, type: extract, config: {sdk: books, operation: list_contacts}}
  - id: shaped
    type: transform
    config:
      steps:
        - {op: rename, mapping: {ContactID: contact_key}}
        - {op: derive, column: label, expr: "upper(\\"Name\\") || ' ' || field('@odata.etag')"}
  - id: load
    type: load
    config:
      table: contacts
      mapping: {columns: [{source: contact_key}, {source: label, type: text}, {source: Balance, type: "numeric(14,2)"}]}
steps:
  - {activity: contacts}
  - {activity: shaped, depends_on: [contacts]}
  - {activity: load, depends_on: [shaped]}
"""
    plans, problems = plans_of(text)
    assert problems == []
    plan = plans["load"]
    assert (plan.mapping_origin, plan.key_origin, plan.business_key) == ("inline", "sdk", ("contact_key",))
    assert [(c.source, c.target, c.type) for c in plan.mapping.columns] == [
        ("contact_key", "contact_key", "text"), ("label", "label", "text"), ("Balance", "balance", "numeric(14,2)"),
    ]


@pytest.mark.parametrize(
    ("key", "columns"),
    [("[ContactID]", ("contact_id",)), ("[contact_id]", ("contact_id",)),
     ("[ContactID, Name]", ("contact_id", "name"))],
)
def test_a_business_key_may_name_source_fields_or_target_columns(key: str, columns: tuple[str, ...]) -> None:
    plans, problems = plans_of(DERIVED.replace("{table: contacts}", f"{{table: contacts, business_key: {key}}}"))
    assert problems == []
    assert (plans["load_contacts"].key_origin, plans["load_contacts"].business_key) == ("given", columns)


BAD = [
    pytest.param(
        DERIVED, {"primary_key": []},
        ["activities[1].config.business_key: required: the records load 'load_contacts' reads (from 'contacts') "
         "have no primary key declared by their SDK operation; set business_key to the target columns that "
         "identify a row (columns: contact_id, name, name_2, odata_etag, updated_date_utc, balance, addresses)"],
        id="no_key_anywhere",
    ),
    pytest.param(
        DERIVED.replace("{table: contacts}", "{table: contacts, mapping: {columns: [{source: Name}]}}"), {},
        ["activities[1].config.business_key: required: the SDK's primary key (ContactID) of the records load "
         "'load_contacts' reads is not fully mapped (missing: ContactID): map those fields, or set business_key "
         "to the target columns that identify a row (columns: name)"],
        id="sdk_key_not_mapped",
    ),
    pytest.param(
        DERIVED.replace("{table: contacts}", "{table: contacts, mapping: {columns: [{source: contactid}, "
                                             "{source: Name, target: Name}]}}"), {},
        ["activities[1].config.mapping.columns[1].target: must be a lowercase identifier: letters a-z, digits "
         "and underscores, not starting with a digit, at most 63 characters (try 'name') (received: 'Name')"],
        id="target_is_an_sql_identifier",
    ),
    pytest.param(
        DERIVED.replace("{table: contacts}", "{table: contacts, mapping: {columns: [{source: contactid}]}}"), {},
        ["activities[1].config.mapping.columns[0].source: unknown source field 'contactid' (did you mean "
         "'ContactID'?); the input's fields (exact names): ContactID, Name, name, @odata.etag, UpdatedDateUTC, "
         "Balance, Addresses; write the source exactly as listed (received: 'contactid')"],
        id="source_spelled_otherwise",
    ),
    pytest.param(
        DERIVED.replace("{table: contacts}", "{table: contacts, business_key: [Contact_ID]}"), {},
        ["activities[1].config.business_key[0]: business key column 'Contact_ID' is not a target of the "
         "mapping (did you mean 'contact_id'?); map a field to it, or name a target column (contact_id, name, "
         "name_2, odata_etag, updated_date_utc, balance, addresses) or the source field mapped to one "
         "(received: 'Contact_ID')"],
        id="key_spelled_otherwise",
    ),
    pytest.param(
        DERIVED.replace("incremental: true", "incremental: true, cursor_field: UpdatedDate"), {},
        ["activities[0].config.cursor_field: operation 'list_contacts' returns no field 'UpdatedDate' (did you "
         "mean 'UpdatedDateUTC'?); its fields (exact names): UpdatedDateUTC, ContactID, Name, name, "
         "@odata.etag, Balance, Addresses (received: 'UpdatedDate')"],
        id="cursor_field_unknown",
    ),
    pytest.param(
        DERIVED.replace("incremental: true", "cursor_field: UpdatedDateUTC"), {},
        ["activities[0].config.cursor_field: only an incremental extract has a change cursor: set incremental: "
         "true, or remove cursor_field (received: 'UpdatedDateUTC')"],
        id="cursor_field_without_incremental",
    ),
    pytest.param(
        DERIVED.replace("list_contacts, incremental: true", "list_invoices, incremental: true, params: "
                                                           "{tenant_id: t1}"), {},
        ["activities[0].config.cursor_field: operation 'list_invoices' reads changes since a cursor but its SDK "
         "names no change field: set cursor_field to the record field holding the time of the last change (its "
         "fields: InvoiceID, Contact.ContactID, Total, LastChangeDateTime)"],
        id="incremental_without_a_change_field",
    ),
    pytest.param(
        DERIVED.replace("list_contacts, incremental: true", "list_invoices, page_size: 500, params: "
                                                           "{tenant_id: t1}"), {},
        ["activities[0].config.page_size: operation 'list_invoices' accepts pages of at most 200 records: set "
         "page_size to 200 or less (received: 500)"],
        id="page_size_over_the_erp_maximum",
    ),
    pytest.param(
        DERIVED.replace("list_contacts, incremental: true", "list_notes"), {},
        ["activities[0].config.operation: operation 'list_notes' of SDK books v1 declares no record fields (its "
         "spec describes no schema for the records), so its records cannot be typed or loaded: rebuild the SDK "
         "from a spec that describes them, or choose another operation (received: 'list_notes')"],
        id="operation_without_fields",
    ),
]


@pytest.mark.parametrize(("text", "options", "expected"), BAD)
def test_bad_loads_name_the_path_and_the_fix(text: str, options: dict[str, Any], expected: list[str]) -> None:
    plans, problems = plans_of(text, **options)
    assert problems == expected
    if problems[0].startswith("activities[1]"):  # a load with problems has no plan
        assert "load_contacts" not in plans


def test_cursor_field_naming_a_field_exactly_is_valid() -> None:
    text = DERIVED.replace(
        "list_contacts, incremental: true",
        "list_invoices, incremental: true, cursor_field: LastChangeDateTime, params: {tenant_id: t1}",
    )
    definition = parse_definition(text, filename="wf.yaml")
    assert validate_definition(definition, catalog=catalog()) == []
    plans, _ = plan_loads(definition, catalog=catalog())
    assert plans["load_contacts"].business_key == ("invoice_id",)
    assert [c.target for c in plans["load_contacts"].mapping.columns] == [
        "invoice_id", "contact_contact_id", "total", "last_change_date_time"]


@pytest.mark.parametrize(("given", "maximum", "requested"), [(None, 200, 200), (None, None, 1000), (None, 5000, 1000),
                                                             (50, 200, 50), (300, None, 300)])
def test_page_size_left_out_is_capped_at_the_operations_maximum(
    given: int | None, maximum: int | None, requested: int
) -> None:
    config = ExtractConfig(sdk="books", operation="list_invoices", page_size=given)
    assert config.effective_page_size(maximum) == requested
