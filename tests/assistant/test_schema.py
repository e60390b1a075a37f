"""The structured output the model fills: the workflow JSON Schema with the tenant's names as enums."""

from __future__ import annotations

from assistant import submit_schema, workflow_schema
from tests.assistant.specs import mock_catalog, table


def test_enums_hold_the_tenants_names_only() -> None:
    catalog = mock_catalog(table("crm_customers", ("cust_id", "bigint", True)))
    schema = workflow_schema(catalog)
    extract = schema["$defs"]["ExtractConfig"]["properties"]
    assert extract["sdk"]["enum"] == ["mock_erp"]
    assert "list_customers" in extract["operation"]["enum"] and "list_payroll" not in extract["operation"]["enum"]
    source = schema["$defs"]["ColumnMapping"]["properties"]["source"]["anyOf"]
    assert {"id", "credit_limit", "unit_of_measure"} <= set(source[0]["enum"])
    assert source[1]["description"] == "only a column created by this draft's transform steps (derive, join, aggregate)"
    assert "crm_customers" in schema["$defs"]["LoadSpec"]["properties"]["table"]["description"]


def test_submit_schema_refs_resolve_at_the_top() -> None:
    schema = submit_schema(mock_catalog())
    assert schema["required"] == ["definition"]
    assert "$defs" not in schema["properties"]["definition"]
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(str(node["$ref"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert refs and all(ref.removeprefix("#/$defs/") in schema["$defs"] for ref in refs)
