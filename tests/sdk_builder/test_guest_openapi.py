"""Generated guests of OpenAPI specs, run natively: recorded requests are validated with openapi-core."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import pytest
from sdkb_harness import FIXTURES, SPECS, Recorded, SpecValidator, json_pages

from erp_platform.sandbox._protocol import FieldKind
from sdk_builder import GeneratedSdk, Operation, ParamType, ValueEncoding, generate, load_spec

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
QUOTED = "O'Brien & Sons/#1"
SEGMENT = "A B/C?x=1"
BEARER = {"Authorization": "Bearer test-token"}


def sample_params(op: Operation) -> dict[str, Any]:
    """Values for the operation's required parameters (and $filter), chosen to need escaping."""
    params: dict[str, Any] = {}
    for p in op.parameters:
        if not p.required and p.wire_name != "$filter":
            continue
        if p.type == ParamType.INTEGER:
            params[p.name] = 42
        elif p.type == ParamType.NUMBER:
            params[p.name] = 1.5
        elif p.type == ParamType.BOOLEAN:
            params[p.name] = True
        elif p.type in (ParamType.OBJECT, ParamType.ANY) and p.location.value == "body":
            params[p.name] = {"displayName": "x"}
        elif p.format == "uuid":
            params[p.name] = UUID
        elif p.encoding == ValueEncoding.ODATA_QUOTED:
            params[p.name] = QUOTED
        elif p.encoding == ValueEncoding.ODATA_BARE:
            params[p.name] = "10000"
        elif p.wire_name == "$filter":
            params[p.name] = "displayName eq 'A & B'"
        elif p.wire_name.lower() == "if-match":
            params[p.name] = 'W/"JzQ0OzA7Jw=="'
        else:
            params[p.name] = SEGMENT
    return params


def empty_page(request: Recorded) -> tuple[int, Any]:
    if request.kind == "fetch":
        return 200, {"value": [], "items": [], "d": {"results": []}}
    return (204, "") if request.method == "DELETE" else (200, {"id": "1"})


def call_every_operation(sdk: GeneratedSdk, ops: tuple[Operation, ...], guest_loader: Any) -> list[Recorded]:
    recorded: list[Recorded] = []
    with guest_loader(sdk, empty_page) as guest:
        for op in ops:
            extra = {"_page_size": 25} if op.collection else {}
            guest.call(op.id, {**sample_params(op), **extra})
            recorded.append(guest.host.requests[-1])
    return recorded


def test_every_business_central_request_is_valid_for_the_spec(real_specs: Any, real_sdks: Any,
                                                              guest_loader: Any) -> None:
    spec = real_specs["business_central"].spec
    validator = SpecValidator(SPECS / "dynamics365_business_central_v1.openapi.yaml")
    recorded = call_every_operation(real_sdks["business_central"], spec.operations, guest_loader)
    assert len(recorded) == 324
    for op, request in zip(spec.operations, recorded, strict=True):
        assert request.method == op.method
        result = validator.validate(request, spec.base_url, BEARER)
        params = sample_params(op)
        for p in op.parameters:
            if p.location.value == "path":
                got = result.parameters.path[p.wire_name]
                text = unquote(str(got))
                expected = params[p.name]
                assert (text.replace("''", "'") if p.encoding == ValueEncoding.ODATA_QUOTED else text) == str(
                    expected
                ), (op.id, p.name)
            if p.location.value == "header" and p.required:
                assert result.parameters.header[p.wire_name] == params[p.name]
        if op.collection:
            assert request.kind == "fetch" and request.record_path == ["value"]
            assert result.parameters.query["$top"] == 25
            assert result.parameters.query["$filter"] == "displayName eq 'A & B'"
        if op.request_body is not None:
            assert result.body == {"displayName": "x"}
            assert request.header("Content-Type") == "application/json"


def test_business_central_csv_arrays_skip_paging_and_since(real_specs: Any, real_sdks: Any,
                                                          guest_loader: Any) -> None:
    spec = real_specs["business_central"].spec
    validator = SpecValidator(SPECS / "dynamics365_business_central_v1.openapi.yaml")
    full = [{"id": str(i)} for i in range(2)]
    with guest_loader(real_sdks["business_central"], json_pages([(200, {"value": full})] * 2 + [
        (200, {"value": [{"id": "9"}]})
    ])) as guest:
        params = {"company_id": UUID, "select": ["id", "number"], "filter": "blocked eq ' '", "_page_size": 2,
                  "_since": "2024-05-01T10:00:00+02:00"}
        first = guest.call("list_customers", params)
        second = guest.call("list_customers", {**params, "_next": first.next})
        third = guest.call("list_customers", {**params, "_next": second.next, "_mode": "guest"})
    assert (first.next, second.next, third.next) == ("S2", "S4", None)
    assert third.records == [{"id": "9"}]
    requests = guest.host.requests
    query = validator.validate(requests[1], spec.base_url, BEARER).parameters.query
    assert query["$select"] == ["id", "number"] and query["$skip"] == 2 and query["$top"] == 2
    assert query["$filter"] == "(blocked eq ' ') and lastModifiedDateTime gt 2024-05-01T08:00:00Z"
    assert "%2C" not in requests[0].url and "$select=id,number" in requests[0].url


def test_every_quickbooks_request_is_valid_and_single_results_unwrap(real_specs: Any, real_sdks: Any,
                                                                    guest_loader: Any) -> None:
    spec = real_specs["quickbooks"].spec
    validator = SpecValidator(SPECS / "quickbooks_online_v3.openapi.yaml")
    recorded = call_every_operation(real_sdks["quickbooks"], spec.operations, guest_loader)
    for request in recorded:
        validator.validate(request, spec.base_url, BEARER)
    query = "select * from Customer where DisplayName = 'A&B' and Balance > '0' STARTPOSITION 1"

    def answer(request: Recorded) -> tuple[int, Any]:
        if request.path.endswith("/query"):
            return 200, {"QueryResponse": {"Customer": [{"Id": "1"}], "startPosition": 1}}
        return 200, {"Customer": {"Id": "7", "Balance": 12, "MetaData": {"CreateTime": "2024-01-01"}}}

    with guest_loader(real_sdks["quickbooks"], answer) as guest:
        found = guest.call("query_entity", {"realm_id": "9130", "query": query})
        single = guest.call("read_customer", {"realm_id": "9130", "customer_id": "7"})
    checked = validator.validate(guest.host.requests[0], spec.base_url, BEARER)
    assert checked.parameters.query["query"] == query
    assert found.result == {"QueryResponse": {"Customer": [{"Id": "1"}], "startPosition": 1}}
    assert single.entity == "Customer" and single.result["Id"] == "7"
    assert single.result["Balance"] == 12.0 and isinstance(single.result["Balance"], float)


@pytest.fixture(scope="module")
def mock_styles() -> tuple[Any, GeneratedSdk, SpecValidator]:
    parsed = load_spec(FIXTURES / "mock_erp_styles.openapi.json", name="mock_erp")
    return parsed.spec, generate(parsed.spec), SpecValidator(FIXTURES / "mock_erp_styles.openapi.json")


def test_mock_odata_v4_follows_next_links_in_both_modes(mock_styles: Any, guest_loader: Any) -> None:
    spec, sdk, validator = mock_styles
    base = "http://127.0.0.1:8900/odata/v4/companies(acme)/customers"
    pages = [
        (200, {"value": [{"id": "1", "updated_at": "2024-01-01T00:00:00Z", "credit_limit": 10.5}],
               "@odata.nextLink": f"{base}?$top=1&$skip=1"}),
        (200, {"value": [{"id": "2", "updated_at": "2024-01-02T00:00:00+01:00", "credit_limit": "20.25"}]}),
    ]
    for mode in ("host", "guest"):
        with guest_loader(sdk, json_pages(list(pages))) as guest:
            records = guest.all_records("odata_v4_list_customers", {"tenant": "acme", "_page_size": 1,
                                                                    "_mode": mode})
        host_headers = {**BEARER, "X-ERP-Tenant": "acme"}
        first, second = guest.host.requests
        assert validator.validate(first, spec.base_url, host_headers).parameters.query == {"$top": 1}
        assert second.url == f"{base}?$top=1&$skip=1"
        assert second.kind == ("fetch" if mode == "host" else "send")
        assert [r["id"] for r in records] == ["1", "2"]
        if mode == "guest":
            assert records[1]["updated_at"] == "2024-01-01T23:00:00+00:00"
            assert records[0]["credit_limit"] == "10.5" and records[1]["credit_limit"] == "20.25"


def test_mock_odata_v2_uses_d_results_next_and_dotnet_dates(mock_styles: Any, guest_loader: Any) -> None:
    spec, sdk, validator = mock_styles
    op = spec.operation("odata_v2_list_customers")
    assert op.record_path == ("d", "results") and op.pagination.next_path == "d.__next"
    assert op.date_format.value == "dotnet"
    assert spec.entity("CustomerV2").field_kinds()["UpdatedAt"] == "datetime"
    pages = [
        (200, {"d": {"results": [{"Id": "1", "UpdatedAt": "/Date(1552326816230)/"}],
                     "__next": "http://127.0.0.1:8900/odata/v2/Customers?$skip=1&$top=1"}}),
        (200, {"d": {"results": [{"Id": "2", "UpdatedAt": "/Date(-86400000+0100)/"}]}}),
    ]
    with guest_loader(sdk, json_pages(pages)) as guest:
        records = guest.all_records(
            "odata_v2_list_customers", {"_page_size": 1, "_mode": "guest", "_since": "2024-01-01T00:00:00Z"}
        )
    checked = validator.validate(guest.host.requests[0], spec.base_url, {**BEARER, "X-ERP-Tenant": "acme"})
    assert checked.parameters.query["$filter"] == "UpdatedAt gt datetime'2024-01-01T00:00:00'"
    assert [r["UpdatedAt"] for r in records] == [
        "2019-03-11T17:53:36.230000+00:00", "1969-12-31T00:00:00+00:00"
    ]


def test_mock_rest_pages_by_page_count_with_updated_since(mock_styles: Any, guest_loader: Any) -> None:
    spec, sdk, validator = mock_styles
    pages = [
        (200, {"page": n, "pageSize": 2, "pageCount": 3, "totalCount": 5, "items": [{"id": str(n)}]})
        for n in (1, 2, 3)
    ]
    with guest_loader(sdk, json_pages(pages)) as guest:
        params = {"_page_size": 2, "_since": "2024-03-01T12:30:00Z"}
        records = guest.all_records("rest_list_customers", params)
    assert [r["id"] for r in records] == ["1", "2", "3"]
    queries = [validator.validate(r, spec.base_url, {**BEARER, "X-ERP-Tenant": "acme"}).parameters.query
               for r in guest.host.requests]
    assert [q["page"] for q in queries] == [1, 2, 3]
    assert all(q["pageSize"] == 2 for q in queries)
    assert guest.host.requests[0].meta_paths == ["pageCount", "totalCount"]
    assert guest.host.requests[0].url.startswith("api/v1/customers?updated_since=2024-03-01T12:30:00Z&")


def test_mock_rest_single_record_and_idempotent_post(mock_styles: Any, guest_loader: Any) -> None:
    spec, sdk, validator = mock_styles

    def answer(request: Recorded) -> tuple[int, Any]:
        if request.method == "POST":
            return 201, {"id": "SO1", "customer_id": "C1", "amount": 9.99,
                         "updated_at": "2024-01-01T00:00:00"}
        return 200, {"id": "C 1/2", "is_active": "true", "order_count": "3",
                     "created_on": "2024-02-03T00:00:00Z"}

    with guest_loader(sdk, answer) as guest:
        one = guest.call("rest_get_customer", {"id": "C 1/2"})
        created = guest.call("rest_create_sales_order",
                             {"body": {"customer_id": "C1", "amount": 9.99}, "idempotency_key": "k-1"})
    get, post = guest.host.requests
    host_headers = {**BEARER, "X-ERP-Tenant": "acme"}
    assert unquote(validator.validate(get, spec.base_url, host_headers).parameters.path["id"]) == "C 1/2"
    assert get.url == "api/v1/customers/C%201%2F2"
    checked = validator.validate(post, spec.base_url, host_headers)
    assert checked.body == {"customer_id": "C1", "amount": 9.99}
    assert checked.parameters.header["Idempotency-Key"] == "k-1"
    assert one.result == {"id": "C 1/2", "is_active": True, "order_count": 3, "created_on": "2024-02-03"}
    assert created.status == 201 and created.result["updated_at"] == "2024-01-01T00:00:00+00:00"


def test_swagger2_offset_limit_csv_and_basic_auth(guest_loader: Any) -> None:
    parsed = load_spec(FIXTURES / "shop_swagger2.yaml")
    sdk = generate(parsed.spec)
    pages = [(200, {"total": 3, "data": [{"id": 1}, {"id": 2}]}), (200, {"total": 3, "data": [{"id": 3}]})]
    with guest_loader(sdk, json_pages(pages)) as guest:
        records = guest.all_records("list_orders", {"status": ["open", "paid"], "_page_size": 2})
    assert [r["id"] for r in records] == [1, 2, 3]
    assert [r.url for r in guest.host.requests] == [
        "orders?status=open,paid&limit=2", "orders?status=open,paid&limit=2&offset=2",
    ]
    assert parsed.spec.entity("Order").field_kinds()["total"] == FieldKind.DECIMAL


CURSOR_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Cursor ERP", "version": "1"},
    "servers": [{"url": "https://erp.acme-gmbh.de/v1"}],
    "paths": {
        "/contacts": {"get": {
            "operationId": "listContacts",
            "parameters": [{"name": "cursor", "in": "query", "schema": {"type": "string"}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "page", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
                    "meta": {"type": "object", "properties": {"next_cursor": {"type": ["string", "null"]}}},
                }}}}}},
        }},
        "/tags": {"get": {
            "operationId": "listTags",
            "responses": {"200": {"description": "all", "content": {"application/json": {"schema": {
                "type": "array", "items": {"$ref": "#/components/schemas/Contact"}}}}}},
        }},
    },
    "components": {"schemas": {"Contact": {"type": "object", "properties": {
        "id": {"type": "integer"}, "modifiedAt": {"type": ["string", "null"], "format": "date-time"}}}}},
}


def test_cursor_pagination_and_top_level_arrays(guest_loader: Any) -> None:
    parsed = load_spec(json.dumps(CURSOR_SPEC).encode(), filename="cursor.json")
    contacts = parsed.spec.operation("list_contacts")
    assert (contacts.pagination.style.value, contacts.pagination.next_path) == ("cursor", "meta.next_cursor")
    tags_op = parsed.spec.operation("list_tags")
    assert tags_op.record_path == () and tags_op.collection
    pages = [(200, {"data": [{"id": 1}], "meta": {"next_cursor": "c/2=="}}),
             (200, {"data": [{"id": 2}], "meta": {"next_cursor": None}}),
             (200, [{"id": 3, "modifiedAt": "2024-01-01T00:00:00Z"}])]
    with guest_loader(generate(parsed.spec), json_pages(pages)) as guest:
        records = guest.all_records("list_contacts", {"_page_size": 1})
        tags = guest.call("list_tags", {"_mode": "guest"})
    assert [r["id"] for r in records] == [1, 2]
    assert [r.url for r in guest.host.requests] == [
        "contacts?limit=1", "contacts?limit=1&cursor=c/2%3D%3D", "tags"
    ]
    assert tags.records == [{"id": 3, "modifiedAt": "2024-01-01T00:00:00+00:00"}] and tags.next is None
