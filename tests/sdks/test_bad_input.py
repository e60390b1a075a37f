"""Bad input to SdkService: each row is a call and the exact error it gets (nothing is stored)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from erp_platform._errors import ErpPlatformError, InvalidInputError, NotFoundError
from erp_platform.sandbox import SdkCallError
from erp_platform.sdks import SdkService
from sdk_builder import SpecError
from tests.sdks.conftest import ReadySdk

NAME_RULE = "use 1-63 characters a-z, 0-9 and '_', starting with a letter (e.g. 'business_central')"
LIST_CONTEXT = "tenant {t!r}, SDK 'mock_erp' v1, operation 'list_customers': "
GET_CONTEXT = "tenant {t!r}, SDK 'mock_erp' v1, operation 'get_customer': "

Call = Callable[[SdkService, str, bytes], Any]

CASES: list[tuple[str, Call, type[ErpPlatformError], str]] = [
    ("bad tenant slug", lambda s, t, spec: s.list("Bad-Tenant"), InvalidInputError,
     "tenant slug 'Bad-Tenant' is invalid: it must match ^[a-z][a-z0-9_]{2,39}$ (start with a "
     "lowercase letter, "
     "then 2 to 39 lowercase letters, digits or underscores)"),
    ("unknown tenant", lambda s, t, spec: s.build("no_such_tenant", spec, filename="a.json"), NotFoundError,
     "tenant 'no_such_tenant' does not exist; list tenants with `erp tenant list`"),
    ("path in the SDK name", lambda s, t, spec: s.get(t, "../acme"), InvalidInputError,
     f"SDK name '../acme' is invalid: {NAME_RULE}"),
    ("upper-case SDK name", lambda s, t, spec: s.build(t, spec, filename="a.json", name="Mock-ERP"),
     InvalidInputError, f"SDK name 'Mock-ERP' is invalid: {NAME_RULE}"),
    ("version 0", lambda s, t, spec: s.activate(t, "mock_erp", 0), InvalidInputError,
     "SDK version 0 is invalid: versions are 1, 2, 3, ..."),
    ("boolean version", lambda s, t, spec: s.revoke(t, "mock_erp", True), InvalidInputError,
     "SDK version True is invalid: versions are 1, 2, 3, ..."),
    ("missing version", lambda s, t, spec: s.get(t, "mock_erp", 9), NotFoundError,
     "SDK 'mock_erp' of tenant {t!r} has no version 9 (versions: v1 ACTIVE)"),
    ("not a spec", lambda s, t, spec: s.build(t, b"hello", filename="notes.txt"), SpecError,
     "notes.txt: not an API specification: expected an OpenAPI 3.x or Swagger 2.0 document (a top-level "
     "'openapi' or 'swagger' key) or an OData EDMX $metadata document (XML). Pass the spec file itself, not "
     "documentation or a sample payload."),
    ("missing spec file", lambda s, t, spec: s.build(t, "/nonexistent/spec.yaml"), InvalidInputError,
     "spec file not found: /nonexistent/spec.yaml; check the path"),
    ("unknown auth scheme", lambda s, t, spec: s.build(t, spec, filename="a.json", auth_scheme="oauth9"),
     SpecError,
     "a.json: --auth 'oauth9' is not a security scheme of the spec (available: apiKeyAuth, "
     "bearerAuth)."),
    ("bad header name", lambda s, t, spec: s.build(t, spec, filename="a.json", headers={"Bad Header": "x"}),
     InvalidInputError,
     "header name 'Bad Header' is invalid: use letters, digits and '-' (e.g. 'X-ERP-Tenant')."),
    ("header injection", lambda s, t, spec: s.build(t, spec, filename="a.json", headers={"X-A": "a\r\nB: c"}),
     InvalidInputError, "value of header 'X-A' contains a line break or NUL: remove it."),
    ("zero pages", lambda s, t, spec: s.call(t, "mock_erp", "list_customers", {}, pages=0), InvalidInputError,
     "pages must be a positive integer, got 0"),
    ("unknown operation", lambda s, t, spec: s.call(t, "mock_erp", "drop_tables", {}), InvalidInputError,
     "SDK 'mock_erp' v1 of tenant {t!r} has no operation 'drop_tables'; its operations: "
     "odata_v4_list_customers, "
     "odata_v2_list_customers, list_customers, get_customer, odata_v4_list_items, odata_v2_list_items, "
     "list_items, get_item, odata_v4_list_sales_orders, odata_v2_list_sales_orders, list_sales_orders, "
     "create_sales_order, get_sales_order, odata_v4_list_sales_order_lines, odata_v2_list_sales_order_lines, "
     "list_sales_order_lines, get_sales_order_line, odata_v4_list_invoices, odata_v2_list_invoices, "
     "list_invoices and 1 more"),
    ("unknown parameter", lambda s, t, spec: s.call(t, "mock_erp", "list_customers", {"colour": "red"}),
     SdkCallError, LIST_CONTEXT + "the SDK reported bad_params: unknown "
     "parameter 'colour' for operation 'list_customers' (parameters: updated_since)"),
    ("missing required parameter", lambda s, t, spec: s.call(t, "mock_erp", "get_customer", {}), SdkCallError,
     GET_CONTEXT + "the SDK reported bad_params: missing required parameter "
     "'id' for operation 'get_customer'"),
    ("forged continuation token",
     lambda s, t, spec: s.call(t, "mock_erp", "list_customers", {"_next": "Zgarbage"}), SdkCallError,
     LIST_CONTEXT + "the SDK reported bad_params: '_next' is not a continuation "
     "token of operation 'list_customers'; pass the 'next' value of the previous page unchanged"),
    ("page size 0", lambda s, t, spec: s.call(t, "mock_erp", "list_customers", {"_page_size": 0}),
     SdkCallError,
     LIST_CONTEXT + "the SDK reported bad_params: '_page_size' must be an "
     "integer from 1 to 100000, got 0"),
    ("parameters that are not JSON",
     lambda s, t, spec: s.call(t, "mock_erp", "list_customers", {"x": object()}),
     InvalidInputError, LIST_CONTEXT + "parameters are not JSON-serialisable "
     "(Type is not JSON serializable: object)"),
]


@pytest.mark.parametrize(("call", "error", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(
    service: SdkService, ready_sdk: ReadySdk, mock_spec: bytes, call: Call, error: type[ErpPlatformError],
    message: str,
) -> None:
    before = [(i.name, i.version, i.status) for i in service.list(ready_sdk.tenant)]
    with pytest.raises(error) as caught:
        call(service, ready_sdk.tenant, mock_spec)
    assert str(caught.value) == message.replace("{t!r}", repr(ready_sdk.tenant))
    assert [(i.name, i.version, i.status) for i in service.list(ready_sdk.tenant)] == before
