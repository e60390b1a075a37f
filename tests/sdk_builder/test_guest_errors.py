"""Generated guests report every failure as GuestError JSON: bad parameters, HTTP and host errors."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from sdkb_harness import FIXTURES, Recorded

from sdk_builder import generate, load_spec

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(scope="module")
def mock_sdk() -> Any:
    return generate(load_spec(FIXTURES / "mock_erp_styles.openapi.json").spec)


def ok(_request: Recorded) -> tuple[int, Any]:
    return 200, {"value": [], "items": [], "page": 1, "pageCount": 1}


BAD_PARAMS = [
    ("business_central", "list_customers", {}, "missing required parameter 'company_id' for operation "
                                               "'list_customers'"),
    ("business_central", "list_customers", {"company_id": UUID, "colour": "red"},
     "unknown parameter 'colour' for operation 'list_customers' (parameters: company_id, expand, filter, "
     "limit, "
     "select)"),
    ("business_central", "list_customers", {"company_id": 7},
     "parameter 'company_id' of operation 'list_customers' must be a string, got integer"),
    ("business_central", "list_customers", {"company_id": UUID, "select": ["id", 3]},
     "items of parameter 'select' of operation 'list_customers' must be a string, got integer"),
    ("business_central", "list_customers", {"company_id": UUID, "limit": True},
     "parameter 'limit' of operation 'list_customers' must be an integer, got boolean"),
    ("business_central", "list_customers", {"company_id": UUID, "_mode": "fast"},
     "'_mode' must be 'host' or 'guest', got 'fast'"),
    ("business_central", "list_customers", {"company_id": UUID, "_page_size": 0},
     "'_page_size' must be an integer from 1 to 100000, got 0"),
    ("business_central", "list_customers", {"company_id": UUID, "_page_size": "10"},
     "'_page_size' must be an integer from 1 to 100000, got '10'"),
    ("business_central", "list_customers", {"company_id": UUID, "_since": "yesterday"},
     "'_since' must be an ISO 8601 date-time, got 'yesterday'"),
    ("business_central", "list_companies", {"_since": "2024-01-01"},
     "operation 'list_companies' does not support '_since' (it has no change cursor)"),
    ("business_central", "list_customers", {"company_id": UUID, "_next": "X12"},
     "'_next' is not a continuation token of operation 'list_customers'; pass the 'next' value of the "
     "previous "
     "page unchanged"),
    ("business_central", "get_customer", {"company_id": UUID, "customer_id": UUID, "_next": "S1"},
     "operation 'get_customer' returns a single result: '_next' is not accepted"),
    ("business_central", "get_customer", {"company_id": UUID, "customer_id": "1),Evil("},
     "parameter 'customer_id' must be a plain key value (letters, digits and . _ ~ : + -), got '1),Evil('"),
    ("business_central", "delete_customer",
     {"company_id": UUID, "customer_id": UUID, "if_match": "*"},
     "unknown parameter 'if_match' for operation 'delete_customer' (parameters: company_id, customer_id)"),
    ("business_central", "patch_customer",
     {"company_id": UUID, "customer_id": UUID, "if_match": "*\r\nX-Evil: 1", "body": {}},
     "parameter 'if_match' must not contain line breaks"),
    ("sap_v2", "get_a_test_entity", {"key_property_guid": "not-a-guid", "key_property_string": "x"},
     "parameter 'key_property_guid' is not a valid guid value, got 'not-a-guid'"),
    ("sap_v4", "get_a_test_entity", {"key_property_guid": UUID, "key_property_string": "x",
                                     "key_date_property": "2024-01-01) or (1"},
     "parameter 'key_date_property' must be an ISO 8601 date or time, got '2024-01-01) or (1'"),
]


@pytest.mark.parametrize(("sdk_key", "operation", "params", "message"), BAD_PARAMS)
def test_bad_params_are_refused_before_any_request(
    real_sdks: Any, guest_loader: Any, sdk_key: str, operation: str, params: dict[str, Any], message: str
) -> None:
    with guest_loader(real_sdks[sdk_key], ok) as guest:
        error = guest.error(operation, params)
    assert (error.kind, error.message, error.status, error.retryable) == ("bad_params", message, None, False)
    assert guest.host.requests == []


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("{", "bad_params", "params-json is not valid JSON (Expecting property name enclosed in double "
                            "quotes: "
                            "line 1 column 2 (char 1))"),
        ("[1]", "bad_params", "params-json must be a JSON object, got array"),
    ],
)
def test_malformed_params_json(real_sdks: Any, guest_loader: Any, raw: str, kind: str, message: str) -> None:
    with guest_loader(real_sdks["quickbooks"], ok) as guest:
        error = guest.error("query_entity", raw=raw)
    assert (error.kind, error.message) == (kind, message)


def test_unknown_operation(real_sdks: Any, guest_loader: Any) -> None:
    with guest_loader(real_sdks["quickbooks"], ok) as guest:
        error = guest.error("drop_tables", {})
    assert (error.kind, error.message) == (
        "unknown_operation", "unknown operation 'drop_tables'; describe() lists the 15 operations of this SDK"
    )


def test_since_and_its_query_parameter_together_are_refused(mock_sdk: Any, guest_loader: Any) -> None:
    with guest_loader(mock_sdk, ok) as guest:
        params = {"updated_since": "2024-01-01T00:00:00Z", "_since": "2024-01-01"}
        error = guest.error("rest_list_customers", params)
    assert error.message == "pass either '_since' or the 'updated_since' parameter, not both"


@pytest.mark.parametrize(
    ("status", "retryable", "mode"),
    [(503, True, "host"), (429, True, "guest"), (404, False, "host"), (400, False, "guest"),
     (500, True, "host")],
)
def test_http_errors_become_http_error(
    mock_sdk: Any, guest_loader: Any, status: int, retryable: bool, mode: str
) -> None:
    def fail(_request: Recorded) -> tuple[int, Any]:
        return status, {"error": {"code": "E", "message": "nope"}}

    with guest_loader(mock_sdk, fail) as guest:
        error = guest.error("rest_list_customers", {"_mode": mode})
        single = guest.error("rest_get_customer", {"id": "C1"})
    body = '{"error": {"code": "E", "message": "nope"}}'
    assert (error.kind, error.status, error.retryable) == ("http_error", status, retryable)
    if mode == "host":  # the host reports the status in its error string
        phrase = HTTPStatus(status).phrase
        assert error.message == f"operation 'rest_list_customers': HttpError: {status} {phrase}: {body}"
    else:
        assert error.message == (
            f"operation 'rest_list_customers': GET api/v1/customers returned HTTP {status}: {body}"
        )
    assert single.message == (
        f"operation 'rest_get_customer': GET api/v1/customers/C1 returned HTTP {status}: "
        '{"error": {"code": "E", "message": "nope"}}'
    )


@pytest.mark.parametrize(
    ("host_error", "retryable"),
    [("EgressDenied: host evil.example is not allowed", False), ("RateLimited: tenant acme over 10/s", True)],
)
def test_host_errors_become_host_error(
    mock_sdk: Any, guest_loader: Any, host_error: str, retryable: bool
) -> None:
    with guest_loader(mock_sdk, ok) as guest:
        guest.host.error = host_error
        error = guest.error("rest_list_customers", {})
        guest.host.error = host_error
        single = guest.error("rest_get_customer", {"id": "C1"})
    assert (error.kind, error.message, error.retryable) == (
        "host_error", f"operation 'rest_list_customers': {host_error}", retryable
    )
    assert single.message == f"operation 'rest_get_customer': {host_error}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>502 Bad "
         "Gateway</html>", "operation 'rest_list_customers': the response is not JSON "
                                         "(Expecting value: "
                                         "line 1 column 1 (char 0))"),
        ({"items": {"id": 1}}, "operation 'rest_list_customers': 'items' is not a list of records"),
        ([1, 2], "operation 'rest_list_customers': the response has no 'items'"),
        ({"page": 1}, "operation 'rest_list_customers': the response has no 'items'"),
    ],
)
def test_unexpected_bodies_in_guest_mode(mock_sdk: Any, guest_loader: Any, body: Any, message: str) -> None:
    with guest_loader(mock_sdk, lambda _r: (200, body)) as guest:
        error = guest.error("rest_list_customers", {"_mode": "guest"})
    assert (error.kind, error.message) == ("bad_response", message)


def test_missing_record_path_in_host_mode(mock_sdk: Any, guest_loader: Any) -> None:
    with guest_loader(mock_sdk, lambda _r: (200, {"page": 1})) as guest:
        error = guest.error("rest_list_customers", {})
    assert (error.kind, error.retryable) == ("host_error", False)
    assert error.message == (
        "operation 'rest_list_customers': RecordPathNotFound: the JSON body has no 'items'"
    )


def test_no_exception_escapes_execute(mock_sdk: Any, guest_loader: Any) -> None:
    with guest_loader(mock_sdk, ok) as guest:
        guest.host.module.fetch_json_records = lambda *args: object()
        error = guest.error("rest_list_customers", {})
    assert error.kind == "guest_error"
    assert error.message == (
        "operation 'rest_list_customers' failed: "
        "AttributeError(\"'object' object has no attribute 'status'\")"
    )
