"""Every published spec builds, with the right operations, entities, paging, auth and manifest."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sdkb_harness import FIXTURES

from erp_platform.sandbox._manifest import AuthScheme, HeaderSource, SdkManifest
from erp_platform.sandbox._protocol import FieldKind
from sdk_builder import (
    DateFormat,
    IncrementalMode,
    PaginationStyle,
    ParamLocation,
    SourceFormat,
    ValueEncoding,
    load_spec,
)


def test_business_central(real_specs: Any) -> None:
    parsed = real_specs["business_central"]
    spec = parsed.spec
    assert parsed.total_operations == 324 and len(spec.operations) == 324 and parsed.skipped == ()
    assert Counter(op.method for op in spec.operations) == {"GET": 152, "POST": 65, "PATCH": 54, "DELETE": 53}
    assert sum(op.collection for op in spec.operations) == 76
    assert spec.source_format == SourceFormat.OPENAPI_3 and spec.api_version == "1.0.0"
    assert spec.base_url == "https://api.businesscentral.dynamics.com/v2.0/production/api/v1.0/"
    assert spec.allowed_domains == ("api.businesscentral.dynamics.com",)
    assert (spec.auth.scheme, spec.auth.credential) == (AuthScheme.BEARER, "token")
    assert spec.required_headers == ()
    assert len({op.id for op in spec.operations}) == 324
    assert all(op.id.isidentifier() and op.id == op.id.lower() for op in spec.operations)

    customers = spec.operation("list_customers")
    assert customers.path == "companies({company_id})/customers" and customers.entity == "customer"
    assert customers.record_path == ("value",)
    paging = customers.pagination
    assert (paging.style, paging.size_param, paging.position_param) == (
        PaginationStyle.ODATA_SKIP, "$top", "$skip"
    )
    assert customers.incremental is not None
    assert (customers.incremental.field, customers.incremental.mode, customers.incremental.param) == (
        "lastModifiedDateTime", IncrementalMode.ODATA_FILTER, "$filter"
    )
    assert [p.name for p in customers.parameters] == ["company_id", "limit", "filter", "expand", "select"]
    assert customers.parameters[0].encoding == ValueEncoding.ODATA_BARE

    sale = spec.operation("get_customer_sale")
    assert [p.encoding for p in sale.parameters if p.location == ParamLocation.PATH] == [
        ValueEncoding.ODATA_BARE, ValueEncoding.ODATA_BARE,
        ValueEncoding.ODATA_QUOTED, ValueEncoding.ODATA_QUOTED,
    ]
    patch = spec.operation("patch_customer")
    headers = [
        (p.name, p.wire_name, p.required) for p in patch.parameters if p.location == ParamLocation.HEADER
    ]
    assert headers == [("if_match", "If-Match", True)]
    assert not any(p.wire_name == "Content-Type" for op in spec.operations for p in op.parameters)
    assert patch.request_body is not None and patch.request_body.entity == "customer"
    assert spec.operation("post_action_sales_invoices").capability == "write:salesInvoice"
    assert {"read:customer", "write:customer", "delete:customer"} <= set(spec.capabilities)
    entity = spec.entity("customer")
    assert entity.keys == ("id",)
    assert entity.field_kinds()["lastModifiedDateTime"] == FieldKind.DATETIME
    assert entity.field_kinds()["taxLiable"] == FieldKind.BOOLEAN
    assert spec.entity("item").field_kinds()["unitPrice"] == FieldKind.DECIMAL


def test_quickbooks_loads_despite_tabs(real_specs: Any) -> None:
    parsed = real_specs["quickbooks"]
    assert parsed.warnings == (
        "quickbooks_online_v3.openapi.yaml: YAML does not allow the TAB characters on 18 lines (2649, 2651, "
        "2652, "
        "2653, 2654, 2655, 2656, 2657, 2658, 2853, 2855, 2856, 2857, 2858, 2859, 2860, 2861, 2862); they "
        "were read "
        "as spaces. Replace the TABs with spaces in the spec to silence this warning.",
        "quickbooks_online_v3.openapi.yaml: query_entity (GET /v3/company/{realm-id}/query): the response has no "
        "schema, so where its records are is unknown and it is read as one result; if it returns a list, rebuild "
        "with --set query_entity.record_path=PATH (dotted, '' for a top-level array)",
    )
    spec = parsed.spec
    assert parsed.total_operations == 15 and parsed.skipped == ()
    assert spec.base_url == "https://quickbooks.api.intuit.com/"
    assert (spec.auth.scheme, spec.auth.credential) == (AuthScheme.BEARER, "token")
    query = spec.operation("query_entity")
    assert [(p.name, p.wire_name, p.required) for p in query.parameters] == [
        ("realm_id", "realm-id", True), ("query", "query", True),
    ]
    assert query.entity is None and not query.collection
    read = spec.operation("read_customer")
    assert (read.entity, read.record_path, read.path) == (
        "Customer", ("Customer",), "v3/company/{realm-id}/customer/{customer-id}"
    )
    create = spec.operation("create_or_update_invoice")
    assert create.request_body is not None and create.request_body.entity == "InvoiceCreateObject"
    assert "TaxExemptionReasonId" in spec.entity("Customer").field_kinds()


V2_SKIPPED = [
    ("list_a_test_entity_circular_link_parent_to_child", "GET",
     "navigation property to_Child has no resolvable target type"),
    ("list_a_test_entity_circular_link_child_to_parent", "GET",
     "navigation property to_Parent has no resolvable target type"),
    ("test_function_import_unsupported_edm_types", "GET",
     "parameter SimpleParam has type Edm.SomethingTheSDKDoesNotSupport, which has no URL literal form"),
]
V4_SKIPPED = [
    ("get_a_test_entity_with_no_keys", "GET",
     "entity type A_TestEntityWithNoKeysType has no key: single records cannot be addressed"),
    ("update_a_test_entity_with_no_keys", "PATCH",
     "entity type A_TestEntityWithNoKeysType has no key: single records cannot be addressed"),
    ("delete_a_test_entity_with_no_keys", "DELETE",
     "entity type A_TestEntityWithNoKeysType has no key: single records cannot be addressed"),
    ("test_action_import_unsupported_edm_types", "POST",
     "parameter SimpleParam has type Edm.SomethingTheSDKDoesNotSupport, which is not a known EDM type"),
    ("test_action_import_no_action_defined", "POST",
     "action 'API_TEST_SRV.TestActionImportNoActionDefined' is not defined in the document"),
    ("test_function_import_multiple_params", "GET",
     "parameter NullableGeographyPointParam has type Edm.GeographyPoint, which has no URL literal form"),
    ("bound_function_without_arguments", "GET",
     "function 'boundFunctionWithoutArguments' is bound to an entity: it cannot be called through an import"),
    ("bound_function_with_arguments", "GET",
     "function 'boundFunctionWithArguments' is bound to an entity: it cannot be called through an import"),
    ("bound_action_without_arguments", "POST",
     "action 'boundActionWithoutArguments' is bound to an entity: it cannot be called through an import"),
]


def test_sap_v2_edmx(real_specs: Any) -> None:
    parsed = real_specs["sap_v2"]
    spec = parsed.spec
    assert (parsed.total_operations, len(spec.operations)) == (94, 91)
    assert [(s.operation_id, s.method, s.reason) for s in parsed.skipped] == V2_SKIPPED
    assert spec.source_format == SourceFormat.ODATA_V2 and spec.date_format == DateFormat.DOTNET
    assert spec.base_url == "https://sap.example.com/sap/opu/odata/sap/API_TEST_SRV/"
    assert spec.allowed_domains == ("sap.example.com",)
    assert parsed.warnings[0] == (
        "sap_cloud_sdk_API_TEST_SRV.v2.edmx: A_TestEntityType.SomethingTheSDKDoesNotSupport: unknown type "
        "Edm.SomethingTheSDKDoesNotSupport; kept as JSON"
    )
    entity = spec.entity("A_TestEntityType")
    assert entity.keys == ("KeyPropertyGuid", "KeyPropertyString")
    kinds = entity.field_kinds()
    assert [kinds[n] for n in ("DateTimeProperty", "Int64Property", "DecimalProperty", "TimeProperty")] == [
        FieldKind.DATETIME, FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.STRING
    ]
    listing = spec.operation("list_a_test_entity")
    assert (listing.record_path, listing.pagination.next_path, listing.pagination.style) == (
        ("d", "results"), "d.__next", PaginationStyle.ODATA_NEXT_LINK
    )
    get = spec.operation("get_a_test_entity")
    assert get.path == "A_TestEntity(KeyPropertyGuid={KeyPropertyGuid},KeyPropertyString={KeyPropertyString})"
    assert [p.odata_literal for p in get.parameters[:2]] == ["typed:guid", "string"]
    nav = spec.operation("list_a_test_entity_to_multi_link")
    assert nav.collection and nav.entity == "A_TestEntityMultiLinkType"
    assert not spec.operation("get_a_test_entity_to_single_link").collection
    assert spec.operation("continue_").source_id == "Continue"
    assert spec.operation("get_a_casetest").path == "A_CASETEST({KeyPropertyString})"


def test_sap_v4_edmx(real_specs: Any) -> None:
    parsed = real_specs["sap_v4"]
    spec = parsed.spec
    assert (parsed.total_operations, len(spec.operations)) == (109, 100)
    assert [(s.operation_id, s.method, s.reason) for s in parsed.skipped] == V4_SKIPPED
    assert spec.source_format == SourceFormat.ODATA_V4 and spec.date_format == DateFormat.ISO
    assert spec.entity("A_TestEntityMultiLinkType").keys == ("KeyProperty",)
    assert spec.entity("A_TestEntityType").field_kinds()["KeyDateProperty"] == FieldKind.DATE
    assert spec.entity("A_TestEntityType").field_kinds()["EnumProperty"] == FieldKind.STRING
    assert spec.operation("list_a_test_entity").record_path == ("value",)
    collection = spec.operation("test_function_import_entity_return_type_collection")
    assert collection.collection and collection.entity == "A_TestEntityType"
    action = spec.operation("test_action_import_multiple_parameter_complex_return_type")
    assert [(p.wire_name, p.location, p.required) for p in action.parameters] == [
        ("StringParam", ParamLocation.BODY_FIELD, True),
        ("NonNullableStringParam", ParamLocation.BODY_FIELD, True),
        ("NullableBooleanParam", ParamLocation.BODY_FIELD, False),
        ("NullableGeographyPointParam", ParamLocation.BODY_FIELD, False),
    ]


def test_mock_styles_headers_auth_and_manifest() -> None:
    path = FIXTURES / "mock_erp_styles.openapi.json"
    parsed = load_spec(path, name="mock_erp")
    spec = parsed.spec
    assert spec.required_headers == (HeaderSource(name="X-ERP-Tenant", credential="x_erp_tenant"),)
    assert not any(p.wire_name == "X-ERP-Tenant" for op in spec.operations for p in op.parameters)
    assert (spec.auth.scheme, spec.auth.credential) == (AuthScheme.BEARER, "token")
    assert parsed.warnings == (
        "mock_erp_styles.openapi.json: the spec offers several auth schemes (bearerAuth, apiKeyAuth); using "
        "'bearerAuth'. Pass --auth NAME to choose another.",
    )
    styles = {op.id: op.pagination.style for op in spec.operations if op.collection}
    assert styles == {
        "odata_v4_list_customers": PaginationStyle.ODATA_NEXT_LINK,
        "odata_v4_list_items": PaginationStyle.ODATA_SKIP,
        "odata_v2_list_customers": PaginationStyle.ODATA_NEXT_LINK,
        "rest_list_customers": PaginationStyle.PAGE,
    }
    rest = spec.operation("rest_list_customers")
    assert (rest.record_path, rest.pagination.page_count_path, rest.pagination.size_param) == (
        ("items",), "pageCount", "pageSize"
    )
    assert rest.incremental is not None and rest.incremental.mode == IncrementalMode.QUERY_PARAM
    assert rest.incremental.param == "updated_since"

    keyed = load_spec(path, name="mock_erp", headers={"X-ERP-Tenant": "acme"}, auth_scheme="apiKeyAuth").spec
    assert keyed.required_headers == (HeaderSource(name="X-ERP-Tenant", value="acme"),)
    assert (keyed.auth.scheme, keyed.auth.header_name, keyed.auth.credential) == (
        AuthScheme.API_KEY_HEADER, "X-API-Key", "api_key"
    )
    assert keyed.spec_hash != spec.spec_hash
    manifest = keyed.to_manifest("acme", "mock_erp", 3)
    assert manifest == SdkManifest(
        tenant="acme", sdk_name="mock_erp", sdk_version=3, base_url="http://127.0.0.1:8900/",
        allowed_domains=("127.0.0.1",), auth=keyed.auth, required_headers=keyed.required_headers,
    )
    override = load_spec(path, base_url="https://erp.acme.example/root").spec
    assert override.base_url == "https://erp.acme.example/root/"
    assert override.allowed_domains == ("erp.acme.example", "127.0.0.1")


def test_swagger2() -> None:
    parsed = load_spec(FIXTURES / "shop_swagger2.yaml")
    spec = parsed.spec
    assert spec.name == "shop_swagger2" and spec.source_format == SourceFormat.SWAGGER_2
    assert spec.base_url == "https://erp.shop-gmbh.de/rest/v2/"
    assert (spec.auth.scheme, spec.auth.username_credential, spec.auth.credential) == (
        AuthScheme.BASIC, "username", "password"
    )
    assert [(s.operation_id, s.reason) for s in parsed.skipped] == [
        ("upload_attachment", "formData parameters (form or multipart bodies) are not supported")
    ]
    orders = spec.operation("list_orders")
    assert (orders.pagination.style, orders.pagination.size_param, orders.pagination.position_param) == (
        PaginationStyle.OFFSET_LIMIT, "limit", "offset"
    )
    assert orders.pagination.total_path == "total" and orders.record_path == ("data",)
    status = orders.parameters[0]
    assert (status.name, status.encoding, status.item_type) == ("status", ValueEncoding.CSV, "string")
    assert spec.operation("create_order").request_body.entity == "Order"  # type: ignore[union-attr]
    assert spec.entity("Order").fields[-1].nullable is True
    keyed = load_spec(FIXTURES / "shop_swagger2.yaml", auth_scheme="key").spec
    assert (keyed.auth.scheme, keyed.auth.param_name) == (AuthScheme.API_KEY_QUERY, "api_key")
