"""The catalog carries the SDK builder's decisions for real published specs (Xero Accounting, SAP's OData
test service): primary key, paging, record selector, incremental cursor parameter and field, credentials.
The structured-output schema, the grounding check, the offline proposal and the mapper use them."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from assistant import (
    CatalogView,
    catalog_from_specs,
    invented_names,
    parse_intent,
    propose,
    propose_mapping,
    submit_schema,
    workflow_schema,
)
from erp_platform.workflows import WorkflowDefinition, model_payload
from sdk_builder import load_spec, parse_overrides
from tests.assistant.real_specs import SAP_V2, XERO, real_catalog, spec_dump
from tests.assistant.specs import table


def _draft(text: str, catalog: CatalogView) -> tuple[WorkflowDefinition, tuple[str, ...]]:
    intent = parse_intent(text)
    assert intent is not None, text
    proposal = propose(intent, catalog, {})
    return proposal.definition, proposal.notes


def _config(definition: WorkflowDefinition, kind: str) -> dict[str, Any]:
    payload = model_payload(definition)
    return next(a["config"] for a in payload["activities"] if a["type"] == kind)


def test_xero_contacts_read_carries_the_builders_decisions_and_credentials() -> None:
    catalog = real_catalog(tenant="acme")
    op = catalog.operation("xero", "get_contacts")
    assert op is not None
    assert (op.entity, op.keys, op.paging, op.paging_detail, op.record_selector) == (
        "Contact", ("ContactID",), "page", "page(page, 100/page)", "Contacts")
    assert (op.incremental, op.incremental_field, op.incremental_param, op.incremental_mode) == (
        True, "UpdatedDateUTC", "If-Modified-Since", "header")
    assert [f.name for f in op.fields if f.key] == ["ContactID"]
    decisions = op.decisions
    assert decisions["primary_key"].value == "ContactID" and decisions["primary_key"].source == "spec"
    assert decisions["primary_key"].evidence == "item GET `Contacts/{ContactID}` path parameter `{ContactID}` -> " \
                                                "`ContactID`"
    assert decisions["selector"].value == "Contacts"
    assert decisions["incremental"].value == "header If-Modified-Since -> UpdatedDateUTC"
    assert decisions["incremental"].evidence == "header parameter `If-Modified-Since`; change field `UpdatedDateUTC`"
    assert decisions["paging"].evidence.startswith("page number `page` only: the server sets the page size")
    assert [(c.name, c.location, c.wire_name) for c in op.credentials] == [
        ("token", "auth", "Authorization: Bearer"), ("xero_tenant_id", "header", "xero-tenant-id")]
    assert op.credentials[1].command == 'printf %s "$VALUE" | erp credentials set acme xero_tenant_id --sdk xero'
    assert catalog.sdk("xero") is not None and catalog.sdk("xero").credentials == op.credentials  # type: ignore[union-attr]
    assert op.cursor_candidates()[0] == "UpdatedDateUTC"


def test_sap_odata_read_has_a_composite_key_next_links_and_no_cursor() -> None:
    op = real_catalog().operation("sap", "list_a_test_entity")
    assert op is not None
    assert op.keys == ("KeyPropertyGuid", "KeyPropertyString")
    assert (op.paging, op.record_selector, op.incremental, op.incremental_field) == (
        "odata_next_link", "d.results", False, None)
    assert op.decisions["primary_key"].evidence.startswith("EDMX Key of entity type A_TestEntityType")
    assert op.decisions["incremental"].value == "none" and op.cursor_candidates() == ()
    assert op.credentials == ()


def test_the_builders_primary_key_wins_over_the_entitys_declared_keys() -> None:
    """An operator override of the key (`--set get_contacts.primary_key=ContactNumber`) reaches the catalog,
    the mapper's key hints and the proposal's merge key."""
    overrides = parse_overrides(None, ["get_contacts.primary_key=ContactNumber"], source="--set")
    dump = load_spec(XERO.file.read_bytes(), filename=XERO.file.name, overrides=overrides).spec.model_dump(mode="json")
    catalog = catalog_from_specs("acme", [("xero", 1, dump)])
    op = catalog.operation("xero", "get_contacts")
    assert op is not None and op.keys == ("ContactNumber",)
    assert op.decisions["primary_key"].source == "override"
    assert [f.name for f in op.fields if f.key] == ["ContactNumber"]
    definition, notes = _draft("sync contacts into contacts every hour", catalog)
    assert _config(definition, "load")["business_key"] == ["contact_number"]
    assert notes[0].startswith("merges on ContactNumber -> contact_number: the SDK's primary key of get_contacts "
                               "(override: ")
    crm = table("crm_contacts", ("contact_id", "text", True), ("contact_number", "text"), ("name", "text"))
    hinted = {c.target: c.reason for c in propose_mapping(op, "crm_contacts", crm).columns}
    assert "entity key meets the table's primary key" not in hinted["contact_id"]


def test_schema_constrains_cursor_fields_and_business_keys_to_what_exists() -> None:
    catalog = real_catalog()
    schema = workflow_schema(catalog)
    cursor = schema["$defs"]["ExtractConfig"]["properties"]["cursor_field"]
    enum = cursor["anyOf"][0]["enum"]
    assert "UpdatedDateUTC" in enum and "ContactID" not in enum and "Name" not in enum
    assert all(not name.startswith("KeyProperty") for name in enum)  # the SAP read has no cursor
    assert "get_contacts: UpdatedDateUTC" in cursor["description"]
    key = schema["$defs"]["LoadSpec"]["properties"]["business_key"]
    names = key["anyOf"][0]["items"]["enum"]
    assert {"ContactID", "contact_id", "KeyPropertyGuid", "key_property_guid"} <= set(names)
    assert "get_contacts: ContactID" in key["description"] and "and 65 more (describe_operation)" in key["description"]
    sap_only = catalog_from_specs("acme", [("sap", 1, spec_dump(SAP_V2.id))])
    sap_key = workflow_schema(sap_only)["$defs"]["LoadSpec"]["properties"]["business_key"]
    assert "(list_a_test_entity: KeyPropertyGuid+KeyPropertyString;" in sap_key["description"]

    definition, _ = _draft("sync contacts into contacts every hour", catalog)
    full = submit_schema(catalog)
    jsonschema.validate({"definition": model_payload(definition)}, full)  # the offline draft fits the schema
    invented = model_payload(definition)
    invented["activities"][0]["config"]["cursor_field"] = "LastChangedOn"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"definition": invented}, full)
    keyed = model_payload(definition)
    keyed["activities"][1]["config"]["business_key"] = ["contact_ref"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"definition": keyed}, full)
    keyed["activities"][1]["config"]["business_key"] = ["ContactID"]  # the field that feeds the key column
    jsonschema.validate({"definition": keyed}, full)


def test_grounding_refuses_an_invented_cursor_field_and_business_key() -> None:
    catalog = real_catalog()
    definition, _ = _draft("sync contacts into contacts every hour", catalog)
    payload = model_payload(definition)
    payload["activities"][0]["config"]["cursor_field"] = "LastChangedOn"
    payload["activities"][1]["config"]["business_key"] = ["contact_ref"]
    problems = invented_names(WorkflowDefinition.model_validate(payload), catalog)
    assert [(p.path, p.received) for p in problems] == [
        ("activities[0].config.cursor_field", "LastChangedOn"),
        ("activities[1].config.business_key[0]", "contact_ref"),
    ]
    assert problems[0].message == (
        "operation 'get_contacts' returns no field 'LastChangedOn' to use as change cursor; its date/time fields: "
        "UpdatedDateUTC (the SDK's change field is 'UpdatedDateUTC')"
    )
    assert problems[1].message.startswith("business key 'contact_ref' is not a column load 'load_contacts' writes; "
                                          "its columns: ")
    # the key may name the source field mapped to it, as the loader allows
    payload["activities"][0]["config"]["cursor_field"] = "UpdatedDateUTC"
    payload["activities"][1]["config"]["business_key"] = ["ContactID"]
    assert invented_names(WorkflowDefinition.model_validate(payload), catalog) == []


@pytest.mark.parametrize(
    ("text", "operation", "key", "source_keys", "cursor"),
    [
        ("sync invoices into invoices every hour", "get_invoices", ["invoice_id"], ["InvoiceID"], "UpdatedDateUTC"),
        ("sync contacts into contacts every hour", "get_contacts", ["contact_id"], ["ContactID"], "UpdatedDateUTC"),
        ("load bank transactions into bank_transactions daily", "get_bank_transactions", ["bank_transaction_id"],
         ["BankTransactionID"], "UpdatedDateUTC"),
        ("sync test entities into sap_entities every night", "list_a_test_entity",
         ["key_property_guid", "key_property_string"], ["KeyPropertyGuid", "KeyPropertyString"], None),
    ],
)
def test_offline_draft_merges_on_the_inferred_key_and_reads_incrementally_on_the_inferred_cursor(
    text: str, operation: str, key: list[str], source_keys: list[str], cursor: str | None,
) -> None:
    catalog = real_catalog()
    definition, notes = _draft(text, catalog)
    extract, load = _config(definition, "extract"), _config(definition, "load")
    assert extract["operation"] == operation
    assert extract["incremental"] is (cursor is not None) and extract.get("cursor_field") == cursor
    assert load["business_key"] == key
    columns = {c["target"]: c for c in load["mapping"]["columns"]}
    assert [columns[k]["source"] for k in key] == source_keys and all(not columns[k]["nullable"] for k in key)
    op = catalog.operation(extract["sdk"], operation)
    assert op is not None
    fields = {f.name for f in op.fields}
    assert {c["source"] for c in columns.values()} <= fields  # exact ERP names, nothing invented
    assert invented_names(definition, catalog) == []
    assert any(n.startswith(f"merges on {source_keys[0]} -> {key[0]}") for n in notes)
    if cursor:
        assert f"reads only records changed since the last run: cursor {cursor} (the SDK's change field, sent as " \
               "If-Modified-Since)" in notes


def test_existing_table_mapping_uses_the_inferred_key_as_hint() -> None:
    catalog = real_catalog()
    op = catalog.operation("xero", "get_contacts")
    assert op is not None
    crm = table("crm_contacts", ("contact_id", "text", True), ("name", "text"), ("email_address", "text"),
                ("updated_date_utc", "timestamptz"), ("notes", "text"))
    proposal = propose_mapping(op, "crm_contacts", crm)
    by_target = {c.target: c for c in proposal.columns}
    assert by_target["contact_id"].source == "ContactID" and by_target["contact_id"].key
    assert by_target["contact_id"].reason.endswith("entity key meets the table's primary key")
    assert (by_target["name"].source, by_target["email_address"].source) == ("Name", "EmailAddress")
    assert by_target["updated_date_utc"].source == "UpdatedDateUTC"
    assert proposal.business_key == ("contact_id",)


def test_an_sdk_dump_without_recorded_decisions_still_reads() -> None:
    """SDK versions built before the builder recorded decisions: the entity's keys, no evidence."""
    dump = copy.deepcopy(spec_dump(SAP_V2.id))
    for op in dump["operations"]:
        op.pop("primary_key", None)
        op.pop("evidence", None)
    dump.pop("credentials", None)
    op_view = catalog_from_specs("acme", [("sap", 1, dump)]).operation("sap", "list_a_test_entity")
    assert op_view is not None and op_view.keys == ("KeyPropertyGuid", "KeyPropertyString")
    assert op_view.decisions["primary_key"].source == "none" and op_view.credentials == ()


def test_schema_is_a_valid_json_schema_with_and_without_sdks() -> None:
    empty = catalog_from_specs("acme", [])
    cursor = workflow_schema(empty)["$defs"]["ExtractConfig"]["properties"]["cursor_field"]
    assert cursor["anyOf"] == [{"type": "null"}]  # no incremental read: no cursor can be named
    for catalog in (empty, real_catalog()):
        jsonschema.Draft202012Validator.check_schema(submit_schema(catalog))
