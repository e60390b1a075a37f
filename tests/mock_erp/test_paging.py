"""Every API style pages over every record exactly once, in (updated_at, id) order."""

from __future__ import annotations

import httpx
import pytest

from erp_platform.mock_erp import ENTITY_NAMES, MockErpServer, expected_records
from tests.mock_erp.conftest import CONFIG
from tests.mock_erp.readers import STYLES, read_all


@pytest.fixture(scope="module")
def expected() -> dict[str, list[dict[str, object]]]:
    return {entity: list(expected_records(CONFIG, "acme", entity)) for entity in ENTITY_NAMES}


def test_configured_row_counts(expected: dict[str, list[dict[str, object]]]) -> None:
    counts = {entity: len(rows) for entity, rows in expected.items()}
    assert counts == {
        "customers": 2345,
        "items": 234,
        "sales_orders": 2345,
        "sales_order_lines": 7035,
        "invoices": 2345,
    }


@pytest.mark.parametrize("entity", ENTITY_NAMES)
@pytest.mark.parametrize("style", STYLES)
def test_every_record_exactly_once(
    erp: MockErpServer,
    http: httpx.Client,
    expected: dict[str, list[dict[str, object]]],
    style: str,
    entity: str,
) -> None:
    records, requests = read_all(http, style, entity, 1000)
    assert records == expected[entity]
    assert requests == -(-len(expected[entity]) // 1000)
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("page_size", "expected_requests"),
    [
        (7, 335),  # 2345 = 335 * 7: the last page is full, and must carry no next link
        (999, 3),  # last page of 347
        (None, 24),  # default page size 100
        (5000, 3),  # capped at the server maximum of 1000
    ],
)
@pytest.mark.parametrize("style", STYLES)
def test_page_sizes(
    http: httpx.Client,
    expected: dict[str, list[dict[str, object]]],
    style: str,
    page_size: int | None,
    expected_requests: int,
) -> None:
    if style == "rest" and page_size == 5000:
        response = http.get("/api/v1/customers", params={"pageSize": "5000"})
        assert response.status_code == 400
        return
    records, requests = read_all(http, style, "customers", page_size)
    assert records == expected["customers"]
    assert requests == expected_requests


def test_odata_v4_next_link_keeps_the_query(erp: MockErpServer, http: httpx.Client) -> None:
    body = http.get(
        "/odata/v4/companies(acme)/customers",
        params={"$top": "2", "$skip": "4", "$count": "true", "$filter": "updated_at gt 2024-01-01T00:00:00Z"},
    ).json()
    assert body["@odata.context"] == f"{erp.base_url}/odata/v4/companies(acme)/$metadata#customers"
    assert body["@odata.count"] == 2344
    assert [r["id"] for r in body["value"]] == [6, 7]
    assert body["@odata.nextLink"] == (
        f"{erp.base_url}/odata/v4/companies(acme)/customers"
        "?$top=2&$skip=6&$count=true&$filter=updated_at%20gt%202024-01-01T00:00:00Z"
    )


def test_odata_v4_quoted_company_key(http: httpx.Client) -> None:
    body = http.get("/odata/v4/companies('acme')/items", params={"$top": "1"}).json()
    assert body["value"][0]["id"] == 1


def test_odata_v2_envelope(erp: MockErpServer, http: httpx.Client) -> None:
    params = {"$top": "2", "$inlinecount": "allpages", "$format": "json"}
    body = http.get("/odata/v2/Items", params=params).json()
    assert set(body) == {"d"}
    assert body["d"]["__count"] == "234"
    assert len(body["d"]["results"]) == 2
    assert body["d"]["results"][0]["updated_at"] == "/Date(1704067200000)/"
    query = "$top=2&$inlinecount=allpages&$format=json&$skip=2"
    assert body["d"]["__next"] == f"{erp.base_url}/odata/v2/Items?{query}"


def test_no_next_link_on_the_last_page(http: httpx.Client) -> None:
    v4 = http.get("/odata/v4/companies(acme)/items", params={"$top": "100", "$skip": "200"}).json()
    v2 = http.get("/odata/v2/Items", params={"$top": "100", "$skip": "200"}).json()
    assert len(v4["value"]) == len(v2["d"]["results"]) == 34
    assert "@odata.nextLink" not in v4
    assert "__next" not in v2["d"]


def test_past_the_end_is_empty(http: httpx.Client) -> None:
    v4 = http.get("/odata/v4/companies(acme)/items", params={"$skip": "234"}).json()
    rest = http.get("/api/v1/items", params={"page": "99", "pageSize": "10"}).json()
    assert v4["value"] == []
    assert "@odata.nextLink" not in v4
    assert rest == {"page": 99, "pageSize": 10, "pageCount": 24, "totalCount": 234, "items": []}


def test_single_record(http: httpx.Client, expected: dict[str, list[dict[str, object]]]) -> None:
    for entity, path in (("customers", "customers"), ("sales_order_lines", "sales-order-lines")):
        for record in (expected[entity][0], expected[entity][-1]):
            assert http.get(f"/api/v1/{path}/{record['id']}").json() == record


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/customers/2346", 404, "no customers record with id 2346: ids run from 1 to 2345"),
        ("/api/v1/customers/0", 404, "no customers record with id 0: ids run from 1 to 2345"),
        ("/api/v1/customers/abc", 400, "customers id 'abc' is invalid: use a positive integer"),
        ("/api/v1/sales-order-lines/-3", 400, "sales-order-lines id '-3' is invalid: use a positive integer"),
    ],
)
def test_single_record_errors(http: httpx.Client, path: str, status: int, message: str) -> None:
    response = http.get(path)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize(
    ("path", "params", "code", "message"),
    [
        (
            "/odata/v4/companies(acme)/customers",
            {"$top": "0"},
            "invalid_parameter",
            "query parameter $top='0' is invalid: use an integer from 1 to 1000000000",
        ),
        (
            "/odata/v4/companies(acme)/customers",
            {"$skip": "-1"},
            "invalid_parameter",
            "query parameter $skip='-1' is invalid: use an integer from 0 to 1000000000000",
        ),
        (
            "/odata/v4/companies(acme)/customers",
            {"$orderby": "name"},
            "unsupported_option",
            "query option $orderby is not supported: this service supports $top, $skip, $filter, $count, "
            "$format",
        ),
        (
            "/odata/v2/Customers",
            {"$count": "true"},
            "unsupported_option",
            "query option $count is not supported: this service supports $top, $skip, $filter, $inlinecount, "
            "$format",
        ),
        (
            "/odata/v2/Customers",
            {"$format": "xml"},
            "unsupported_format",
            "$format='xml' is not supported: use $format=json",
        ),
        (
            "/odata/v4/companies(acme)/customers",
            {"$count": "yes"},
            "invalid_parameter",
            "query parameter $count='yes' is invalid: use one of true, false",
        ),
        (
            "/odata/v4/companies(acme)/customers",
            {"$filter": "name eq 'x'"},
            "unsupported_filter",
            "$filter=\"name eq 'x'\" is not supported: use 'updated_at gt <ISO 8601 timestamp>' (or 'ge'), "
            "e.g. $filter=updated_at gt 2024-01-01T00:00:00Z",
        ),
        (
            "/odata/v4/companies(acme)/customers",
            {"$filter": "updated_at gt yesterday"},
            "invalid_parameter",
            "$filter: 'yesterday' is not an ISO 8601 timestamp: use e.g. 2024-01-01T00:00:00Z",
        ),
        (
            "/api/v1/customers",
            {"page": "0"},
            "invalid_parameter",
            "query parameter page='0' is invalid: use an integer from 1 to 1000000000",
        ),
        (
            "/api/v1/customers",
            {"pageSize": "1001"},
            "invalid_parameter",
            "query parameter pageSize='1001' is invalid: use an integer from 1 to 1000",
        ),
        (
            "/api/v1/customers",
            {"pageSize": "ten"},
            "invalid_parameter",
            "query parameter pageSize='ten' is invalid: use an integer from 1 to 1000",
        ),
        (
            "/api/v1/customers",
            {"updated_since": "2024-13-01"},
            "invalid_parameter",
            "updated_since: '2024-13-01' is not an ISO 8601 timestamp: use e.g. 2024-01-01T00:00:00Z",
        ),
    ],
)
def test_bad_query_parameters(
    http: httpx.Client, path: str, params: dict[str, str], code: str, message: str
) -> None:
    response = http.get(path, params=params)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/api/v2/customers", 404, "no endpoint GET /api/v2/customers: see {openapi} for every path"),
        ("GET", "/odata/v2/Vendors", 404, "no endpoint GET /odata/v2/Vendors: see {openapi} for every path"),
        ("DELETE", "/api/v1/customers", 405, "method not allowed here: use GET"),
        ("PUT", "/api/v1/sales-orders", 405, "method not allowed here: use GET, POST"),
        ("POST", "/odata/v2/Customers", 405, "method not allowed here: use GET"),
    ],
)
def test_unknown_paths_and_methods(
    erp: MockErpServer, http: httpx.Client, method: str, path: str, status: int, message: str
) -> None:
    response = http.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message.format(openapi=f"{erp.base_url}/openapi.json")
    if status == 405:
        assert response.headers["allow"] == message.removeprefix("method not allowed here: use ")
