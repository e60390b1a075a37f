"""Operator overrides: parsed from a file and --set, applied with evidence, part of the spec hash; bad ones
refused with the path and the fix."""

from __future__ import annotations

import pytest

from erp_platform._errors import InvalidInputError
from sdk_builder import DecisionSource, IncrementalMode, PaginationStyle, load_spec, parse_overrides
from tests.support.corpus import load_corpus

XERO = load_corpus().get("xero_accounting")
QBO = load_corpus().get("quickbooks_online")


def test_file_and_set_are_applied_with_override_evidence_and_change_the_spec_hash() -> None:
    text = (
        "operations:\n"
        "  get_contacts:\n"
        "    primary_key: ContactID,Name\n"
        "    paging: {fixed_page_size: 50}\n"
        "    incremental: {field: CreatedDateUTC}\n"
    )
    overrides = parse_overrides(text, ["get_contacts.incremental.field=UpdatedDateUTC",
                                       "get_items.record_path=Items"], source="--override o.yaml")
    plain = load_spec(XERO.file)
    spec = load_spec(XERO.file, overrides=overrides).spec
    op = spec.operation("get_contacts")
    assert op.primary_key == ("ContactID", "Name") and op.pagination.fixed_page_size == 50
    assert op.pagination.style is PaginationStyle.PAGE  # unset values keep the builder's
    assert op.incremental is not None and (op.incremental.mode, op.incremental.field) == (
        IncrementalMode.HEADER, "UpdatedDateUTC")  # --set wins over the file
    assert op.evidence.primary_key.source is DecisionSource.OVERRIDE
    assert op.evidence.selector.source is DecisionSource.SPEC
    assert spec.overrides == (
        "get_contacts.primary_key=ContactID,Name", "get_contacts.paging.fixed_page_size=50",
        "get_contacts.incremental.field=UpdatedDateUTC", "get_items.record_path=Items",
    )
    assert spec.spec_hash != plain.spec.spec_hash
    assert load_spec(XERO.file, overrides=parse_overrides(None, [])).spec.spec_hash == plain.spec.spec_hash


def test_a_schemaless_list_is_warned_about_and_becomes_a_list_by_override() -> None:
    plain = load_spec(QBO.file)
    assert not plain.spec.operation("query_entity").collection
    assert (
        "quickbooks_online_v3.openapi.yaml: query_entity (GET /v3/company/{realm-id}/query): the response has no "
        "schema, so where its records are is unknown and it is read as one result; if it returns a list, rebuild "
        "with --set query_entity.record_path=PATH (dotted, '' for a top-level array)"
    ) in plain.warnings
    fixed = load_spec(QBO.file, overrides=parse_overrides(None, ["query_entity.record_path=QueryResponse.Customer"]))
    op = fixed.spec.operation("query_entity")
    assert op.collection and op.record_path == ("QueryResponse", "Customer")
    assert op.evidence.paging.evidence == (
        "the spec does not describe 'query_entity' as a list; set it with --set query_entity.FIELD=VALUE"
    )


BAD = [
    ("- a\n- b\n", [], "--override o.yaml: expected a mapping with 'operations', e.g. operations: {list_contacts: "
                       "{primary_key: [ContactID]}}, got list"),
    ("operations: [1]\n", [], "--override o.yaml: 'operations' must map operation ids to overrides"),
    ("ops: {}\n", [], "--override o.yaml: unknown key 'ops'; the file holds only 'operations'"),
    ("operations: {get_contacts: {key: [ContactID]}}\n", [],
     "--override o.yaml: operations.get_contacts.key: unknown field 'key'; fields that can be overridden: "
     "record_path, primary_key, paging, incremental"),
    ("operations: {get_contacts: {paging: {page: 2}}}\n", [],
     "--override o.yaml: operations.get_contacts.paging.page: unknown field 'page'; fields that can be overridden: "
     "style, size_param, position_param, first_page, next_path, page_count_path, total_path, has_more_path, "
     "fixed_page_size"),
    ("operations: {get_contacts: {paging: {fixed_page_size: 0}}}\n", [],
     "--override o.yaml: operations.get_contacts.paging.fixed_page_size: Input should be greater than or equal to "
     "1 (got 0)"),
    ("operations: {x: [\n", [], None),
    (None, ["get_contacts"], "--set 'get_contacts' is not OPERATION.FIELD=VALUE, e.g. --set "
                             "list_contacts.primary_key=ContactID"),
    (None, ["get_contacts.paging=page"], "--set 'get_contacts.paging=page': unknown field 'paging'; use "
                                         "record_path, primary_key, paging.<name> or incremental.<name> (or "
                                         "incremental=none)"),
]


@pytest.mark.parametrize(("text", "sets", "message"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_overrides_say_where_and_how_to_fix(text: str | None, sets: list[str], message: str | None) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_overrides(text, sets, source="--override o.yaml")
    if message is None:  # YAML syntax: the parser's own position
        assert str(caught.value).startswith("--override o.yaml: not valid YAML or JSON (")
    else:
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["get_contacts.incremental.mode=header"],
         None),
        (["get_account_attachments.incremental.field=FileName"],
         "override get_account_attachments.incremental: the operation has no incremental reads to change; give "
         "both mode (query_param, header or odata_filter) and param"),
        (["get_contacts.incremental.field=Nope"],
         "override get_contacts.incremental.field: 'Nope' is not a field of the records of 'get_contacts' (fields: "),
    ],
)
def test_incremental_overrides_are_checked_against_the_records(sets: list[str], message: str | None) -> None:
    overrides = parse_overrides(None, sets)
    if message is None:
        assert load_spec(XERO.file, overrides=overrides).spec.operation("get_contacts").incremental is not None
        return
    with pytest.raises(InvalidInputError) as caught:
        load_spec(XERO.file, overrides=overrides)
    assert str(caught.value).startswith(message)
