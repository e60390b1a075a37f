"""/openapi.json: a valid OpenAPI 3.0 document describing every endpoint; real responses match it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from erp_platform.mock_erp import ENTITIES, ENTITY_NAMES, MockErpServer, build_openapi


@pytest.fixture(scope="module")
def doc(erp: MockErpServer) -> dict[str, Any]:
    response = httpx.get(f"{erp.base_url}/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_valid_openapi_30(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.0.")


def test_servers_is_the_base_url(erp: MockErpServer, doc: dict[str, Any]) -> None:
    assert doc["servers"] == [{"url": erp.base_url}]
    assert doc == build_openapi(erp.base_url)


def test_every_path_is_listed(doc: dict[str, Any]) -> None:
    expected = {"/api/v1/sales-orders": {"get", "post"}}
    for spec in ENTITIES.values():
        expected[f"/odata/v4/companies({{tenant}})/{spec.v4_set}"] = {"get"}
        expected[f"/odata/v2/{spec.v2_set}"] = {"get"}
        expected.setdefault(f"/api/v1/{spec.rest_path}", {"get"})
        expected[f"/api/v1/{spec.rest_path}/{{id}}"] = {"get"}
    assert {path: set(ops) for path, ops in doc["paths"].items()} == expected
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) == 21
    assert "odataV4ListSalesOrderLines" in ids and "getSalesOrderLine" in ids and "createSalesOrder" in ids


def test_security_and_tenant_header(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <token>"},
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    assert doc["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    tenant = doc["components"]["parameters"]["TenantHeader"]
    assert (tenant["name"], tenant["in"], tenant["required"]) == ("X-ERP-Tenant", "header", True)
    for path, ops in doc["paths"].items():
        for op in ops.values():
            refs = [p["$ref"] for p in op["parameters"]]
            assert "#/components/parameters/TenantHeader" in refs, path
            assert set(op["responses"]) >= {"401", "403", "429"}


def test_pagination_parameters(doc: dict[str, Any]) -> None:
    parameters = doc["components"]["parameters"]
    names = {key: (p["name"], p["in"]) for key, p in parameters.items()}
    assert names["Top"] == ("$top", "query")
    assert names["Skip"] == ("$skip", "query")
    assert names["Page"] == ("page", "query")
    assert names["PageSize"] == ("pageSize", "query")
    assert names["UpdatedSince"] == ("updated_since", "query")
    assert parameters["PageSize"]["schema"]["maximum"] == 1000
    v4 = doc["paths"]["/odata/v4/companies({tenant})/customers"]["get"]
    assert [p["$ref"].rsplit("/", 1)[1] for p in v4["parameters"]] == [
        "Company", "TenantHeader", "Top", "Skip", "FilterV4", "Count", "Format"
    ]


def test_typed_entity_schemas(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    customer = schemas["Customer"]["properties"]
    assert customer["id"]["type"] == "integer"
    assert customer["id"]["format"] == "int64"
    assert customer["balance"]["type"] == "number"
    assert customer["is_active"]["type"] == "boolean"
    assert customer["updated_at"]["format"] == "date-time"
    assert customer["phone"]["nullable"] is True
    assert schemas["SalesOrder"]["properties"]["order_date"]["format"] == "date"
    v2_date = schemas["SalesOrderV2"]["properties"]["order_date"]
    assert (v2_date["type"], v2_date["pattern"]) == ("string", r"^/Date\(-?[0-9]+\)/$")
    for spec in ENTITIES.values():
        assert schemas[spec.title]["required"] == [f.name for f in spec.fields]


def _validator(doc: dict[str, Any], schema: str) -> OAS30Validator:
    resource = Resource.from_contents(doc, default_specification=DRAFT4)
    registry = Registry().with_resource("urn:mock-erp", resource)
    return OAS30Validator(
        {"$ref": f"urn:mock-erp#/components/schemas/{schema}"},
        registry=registry,
        format_checker=oas30_format_checker,
    )


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_responses_match_the_schemas(doc: dict[str, Any], http: httpx.Client, entity: str) -> None:
    spec = ENTITIES[entity]
    title = spec.title
    checks = [
        (
            f"/odata/v4/companies(acme)/{spec.v4_set}",
            {"$top": "200", "$count": "true"},
            f"{title}ODataV4Collection",
        ),
        (
            f"/odata/v2/{spec.v2_set}",
            {"$top": "200", "$inlinecount": "allpages"},
            f"{title}ODataV2Collection",
        ),
        (f"/api/v1/{spec.rest_path}", {"pageSize": "200"}, f"{title}Page"),
        (f"/api/v1/{spec.rest_path}/3", {}, title),
    ]
    for path, params, schema in checks:
        body = http.get(path, params=params).json()
        _validator(doc, schema).validate(body)
    error = httpx.get(f"{http.base_url}/api/v1/{spec.rest_path}").json()
    _validator(doc, "Error").validate(error)


def test_create_body_schema(doc: dict[str, Any]) -> None:
    schema = doc["components"]["schemas"]["SalesOrderCreate"]
    assert schema["required"] == ["customer_id", "total_amount"]
    assert schema["additionalProperties"] is False
    _validator(doc, "SalesOrderCreate").validate({"customer_id": 1, "total_amount": 1.5, "currency": "EUR"})
