"""Generated guests of the SAP EDMX specs, run natively: entity set paths, key segments, imports, paging."""

from __future__ import annotations

from typing import Any

import pytest
from sdkb_harness import FIXTURES, Recorded, json_pages

from sdk_builder import generate, load_spec

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def answer_empty(request: Recorded) -> tuple[int, Any]:
    return 200, {"d": {"results": []}, "value": []}


V2_KEY = {"key_property_guid": GUID, "key_property_string": "x"}
V2_KEYED = f"A_TestEntity(KeyPropertyGuid=guid'{GUID}',KeyPropertyString='x')"
ACTION_PARAMS = {"string_param": "a", "non_nullable_string_param": "b",
                 "nullable_geography_point_param": {"type": "Point", "coordinates": [1, 2]}}
ACTION_BODY = ('{"StringParam": "a", "NonNullableStringParam": "b", '
               '"NullableGeographyPointParam": {"type": "Point", "coordinates": [1, 2]}}')
ODATA_REQUESTS = [
    ("sap_v2", "get_a_test_entity",
     {**V2_KEY, "key_property_string": "O'Brien & Co/1", "select": "StringProperty"}, "GET",
     f"A_TestEntity(KeyPropertyGuid=guid'{GUID}',KeyPropertyString='O''Brien%20%26%20Co%2F1')"
     "?$select=StringProperty", None),
    ("sap_v2", "list_a_test_entity_to_multi_link", {**V2_KEY, "_page_size": 10}, "GET",
     f"{V2_KEYED}/to_MultiLink?$top=10", None),
    ("sap_v2", "get_a_test_entity_to_single_link", V2_KEY, "GET", f"{V2_KEYED}/to_SingleLink", None),
    ("sap_v2", "get_a_case_test", {"key_property_string": "a"}, "GET", "A_CaseTest('a')", None),
    ("sap_v2", "get_a_casetest", {"key_property_string": "a"}, "GET", "A_CASETEST('a')", None),
    ("sap_v2", "update_a_test_entity_multi_link", {"key_property": "k", "body": {"StringProperty": "s"}},
     "PATCH", "A_TestEntityMultiLink('k')", '{"StringProperty": "s"}'),
    ("sap_v2", "delete_a_test_entity_multi_link", {"key_property": "k"}, "DELETE",
     "A_TestEntityMultiLink('k')", None),
    ("sap_v2", "test_function_import_get", {"simple_param": "a'b c"}, "GET",
     "TestFunctionImportGET?SimpleParam='a''b%20c'", None),
    ("sap_v2", "test_function_import_post", {"simple_param": "x"}, "POST",
     "TestFunctionImportPOST?SimpleParam='x'", None),
    ("sap_v2", "test_function_import_multiple_params", {"string_param": "s", "boolean_param": False},
     "GET", "TestFunctionImportMultipleParams?StringParam='s'&BooleanParam=false", None),
    ("sap_v2", "continue_", {}, "GET", "Continue", None),
    ("sap_v4", "get_a_test_entity",
     {"key_property_guid": GUID, "key_property_string": "O'Brien", "key_date_property": "2024-01-02"},
     "GET", f"A_TestEntity(KeyPropertyGuid={GUID},KeyPropertyString='O''Brien',KeyDateProperty=2024-01-02)",
     None),
    ("sap_v4", "get_a_test_entity_with_enum_key", {"key_property_enum1": "Member1"}, "GET",
     "A_TestEntityWithEnumKey(API_TEST_SRV.A_TestEnumType'Member1')", None),
    ("sap_v4", "get_a_test_entity_multi_link", {"key_property": "k"}, "GET", "A_TestEntityMultiLink('k')",
     None),
    ("sap_v4", "list_a_test_entity_multi_link_to_multi_link1", {"key_property": "k"}, "GET",
     "A_TestEntityMultiLink('k')/to_MultiLink1", None),
    ("sap_v4", "test_function_import_nullable_test", {"non_nullable": "x"}, "GET",
     "TestFunctionImportNullableTest(NullablePerDefault=null,NullableExplicit=null,NonNullable='x')", None),
    ("sap_v4", "test_function_import_with_different_name", {}, "GET",
     "TestFunctionImportWithDifferentName()", None),
    ("sap_v4", "test_action_import_multiple_parameter_complex_return_type", ACTION_PARAMS, "POST",
     "TestActionImportMultipleParameterComplexReturnType", ACTION_BODY),
    ("sap_v4", "test_action_import_no_parameter_no_return_type", {}, "POST",
     "TestActionImportNoParameterNoReturnType", None),
]


@pytest.mark.parametrize(("sdk_key", "operation", "params", "method", "url", "body"), ODATA_REQUESTS)
def test_odata_requests(
    real_sdks: Any, guest_loader: Any, sdk_key: str, operation: str, params: dict[str, Any], method: str,
    url: str, body: str | None,
) -> None:
    with guest_loader(real_sdks[sdk_key], answer_empty) as guest:
        guest.call(operation, params)
    (request,) = guest.host.requests
    assert (request.method, request.url, request.body) == (method, url, body)
    assert request.header("Content-Type") == (None if body is None else "application/json")


def test_v2_collection_pages_through_next_and_normalises_dotnet_dates(
    real_sdks: Any, guest_loader: Any
) -> None:
    root = "https://sap.example.com/sap/opu/odata/sap/API_TEST_SRV/"
    pages = [
        (200, {"d": {"results": [{"KeyPropertyString": "a", "DateTimeProperty": "/Date(1552326816230)/",
                                  "Int64Property": "9007199254740993", "DecimalProperty": "1.10",
                                  "BooleanProperty": True}],
                     "__next": f"{root}A_TestEntity?$skiptoken='a'"}}),
        (200, {"d": {"results": [
            {"KeyPropertyString": "b", "DateTimeOffSetProperty": "2024-01-01T10:00:00+02:00"}
        ]}}),
    ]
    with guest_loader(real_sdks["sap_v2"], json_pages(list(pages))) as guest:
        records = guest.all_records("list_a_test_entity", {"_mode": "guest", "filter": "Int16Property gt 1"})
    first, second = guest.host.requests
    assert first.url == "A_TestEntity?$filter=Int16Property%20gt%201"
    assert second.url == f"{root}A_TestEntity?$skiptoken='a'"
    assert records == [
        {"KeyPropertyString": "a", "DateTimeProperty": "2019-03-11T17:53:36.230000+00:00",
         "Int64Property": 9007199254740993, "DecimalProperty": "1.10", "BooleanProperty": True},
        {"KeyPropertyString": "b", "DateTimeOffSetProperty": "2024-01-01T08:00:00+00:00"},
    ]
    with guest_loader(real_sdks["sap_v2"], json_pages(list(pages))) as guest:
        page = guest.call("list_a_test_entity", {})
    assert page.host_page == 0 and page.records is None and page.next == f"L{root}A_TestEntity?$skiptoken='a'"
    assert page.fields["DateTimeProperty"] == "datetime" and page.fields["ComplexTypeProperty"] == "json"
    assert guest.host.requests[0].record_path == ["d", "results"]
    assert guest.host.requests[0].meta_paths == ["d.__next"]


def test_v4_skip_fallback_when_the_server_sends_no_next_link(real_sdks: Any, guest_loader: Any) -> None:
    pages = [(200, {"value": [{"KeyProperty": str(i)} for i in range(n)]}) for n in (3, 3, 1)]
    with guest_loader(real_sdks["sap_v4"], json_pages(pages)) as guest:
        records = guest.all_records("list_a_test_entity_multi_link", {"_page_size": 3})
    assert len(records) == 7
    assert [r.url for r in guest.host.requests] == [
        "A_TestEntityMultiLink?$top=3",
        "A_TestEntityMultiLink?$top=3&$skip=3",
        "A_TestEntityMultiLink?$top=3&$skip=6",
    ]


def test_v2_function_results_and_entity_results(real_sdks: Any, guest_loader: Any) -> None:
    def answer(request: Recorded) -> tuple[int, Any]:
        if request.url.startswith("TestFunctionImportEdmReturnType"):
            return 200, {"d": {"TestFunctionImportEdmReturnType": True}}
        record = {"KeyPropertyString": "k", "DateTimeProperty": "/Date(0)/", "__metadata": {"uri": "x"}}
        return 200, {"d": record}

    with guest_loader(real_sdks["sap_v2"], answer) as guest:
        flag = guest.call("test_function_import_edm_return_type", {})
        one = guest.call("get_a_test_entity", {"key_property_guid": GUID, "key_property_string": "k"})
    assert flag.result is True
    assert one.entity == "A_TestEntityType"
    assert one.result == {"KeyPropertyString": "k", "DateTimeProperty": "1970-01-01T00:00:00+00:00",
                          "__metadata": {"uri": "x"}}


def test_sap_flags_and_v2_incremental_filter(guest_loader: Any) -> None:
    parsed = load_spec(FIXTURES / "sap_flags.v2.edmx", base_url="https://s4.example.com/sap/opu/odata/sap/X",
                       auth_scheme="basic")
    assert parsed.spec.auth.scheme.value == "basic" and parsed.spec.auth.username_credential == "username"
    assert [(s.operation_id, s.reason) for s in parsed.skipped] == [
        ("update_a_sales_order", "sap:updatable is false"),
        ("delete_a_sales_order", "sap:deletable is false"),
        ("create_a_sales_order_item", "sap:creatable is false"),
    ]
    items = parsed.spec.operation("list_a_sales_order_item")
    assert items.collection and items.pagination.style.value == "none"
    with guest_loader(generate(parsed.spec), answer_empty) as guest:
        page = guest.call("list_a_sales_order", {"_since": "2024-01-01T01:00:00+01:00", "_page_size": 5})
        items_page = guest.call("list_a_sales_order_item", {})
        key = guest.call("get_a_sales_order_item", {"sales_order": "1", "sales_order_item": 10})
    assert page.next is None and items_page.next is None and key.status == 200
    urls = [r.url for r in guest.host.requests]
    assert urls == [
        "A_SalesOrder?$filter=LastChangeDateTime%20gt%20datetimeoffset'2024-01-01T00:00:00Z'&$top=5",
        "A_SalesOrderItem",
        "A_SalesOrderItem(SalesOrder='1',SalesOrderItem=10)",
    ]
