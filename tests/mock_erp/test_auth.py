"""Credentials and the X-ERP-Tenant header: 401 / 400 / 403 with JSON bodies, per API style."""

from __future__ import annotations

import httpx
import pytest

from erp_platform.mock_erp import MockErpServer

_HOW = "send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'"

PATHS = ["/odata/v4/companies(acme)/customers", "/odata/v2/Customers", "/api/v1/customers", "/api/v1/items/1"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("headers", "status", "code", "message"),
    [
        ({"X-ERP-Tenant": "acme"}, 401, "unauthorized", f"missing credentials: {_HOW}"),
        (
            {"Authorization": "Bearer wrong-token", "X-ERP-Tenant": "acme"},
            401,
            "unauthorized",
            f"bearer token w*****n is not valid: {_HOW} with credentials of an ERP tenant",
        ),
        (
            {"Authorization": "Basic dXNlcjpwYXNz", "X-ERP-Tenant": "acme"},
            401,
            "unauthorized",
            f"unsupported Authorization scheme 'Basic': {_HOW}",
        ),
        (
            {"X-API-Key": "nope-nope", "X-ERP-Tenant": "acme"},
            401,
            "unauthorized",
            f"X-API-Key n*****e is not valid: {_HOW} with credentials of an ERP tenant",
        ),
        (
            {"Authorization": "Bearer tok-acme"},
            400,
            "missing_tenant_header",
            "missing header X-ERP-Tenant: send the ERP tenant code of your credentials, "
            "e.g. 'X-ERP-Tenant: acme'",
        ),
        (
            {"X-API-Key": "key-acme", "X-ERP-Tenant": ""},
            400,
            "missing_tenant_header",
            "missing header X-ERP-Tenant: send the ERP tenant code of your credentials, "
            "e.g. 'X-ERP-Tenant: acme'",
        ),
        (
            {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "globex"},
            403,
            "tenant_mismatch",
            "X-ERP-Tenant 'globex' is not the ERP tenant of these credentials: send the tenant code your "
            "token or key was issued for, or use credentials of 'globex'",
        ),
        (
            {"X-API-Key": "key-globex", "X-ERP-Tenant": "acme"},
            403,
            "tenant_mismatch",
            "X-ERP-Tenant 'acme' is not the ERP tenant of these credentials: send the tenant code your "
            "token or key was issued for, or use credentials of 'acme'",
        ),
    ],
)
def test_auth_errors(
    erp: MockErpServer, path: str, headers: dict[str, str], status: int, code: str, message: str
) -> None:
    response = httpx.get(f"{erp.base_url}{path}", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": code, "message": message}}
    if status == 401:
        assert response.headers["www-authenticate"] == 'Bearer realm="mock-erp"'
    assert "wrong-token" not in response.text and "nope-nope" not in response.text


def test_company_in_the_url_must_be_the_tenant(erp: MockErpServer) -> None:
    headers = {"Authorization": "Bearer tok-globex", "X-ERP-Tenant": "globex"}
    response = httpx.get(f"{erp.base_url}/odata/v4/companies(acme)/customers", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "tenant_mismatch",
        "message": "company 'acme' in the URL is not the ERP tenant of X-ERP-Tenant and your credentials: "
        "use /odata/v4/companies(globex)/customers",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer tok-globex", "X-ERP-Tenant": "globex"},
        {"X-API-Key": "key-globex", "X-ERP-Tenant": "globex"},
        {"authorization": "bearer tok-globex", "x-erp-tenant": "globex"},
    ],
)
def test_valid_credentials(erp: MockErpServer, headers: dict[str, str]) -> None:
    response = httpx.get(f"{erp.base_url}/api/v1/customers", params={"pageSize": "1"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["totalCount"] == 2345


def test_openapi_and_index_need_no_credentials(erp: MockErpServer) -> None:
    assert httpx.get(f"{erp.base_url}/openapi.json").status_code == 200
    index = httpx.get(f"{erp.base_url}/").json()
    assert index["openapi"] == f"{erp.base_url}/openapi.json"
