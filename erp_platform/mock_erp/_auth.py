"""Who is calling: bearer token or API key -> ERP tenant, checked against the X-ERP-Tenant header."""

from __future__ import annotations

from erp_platform._errors import mask_secret
from erp_platform.mock_erp._config import MockErpConfig
from erp_platform.mock_erp._http import ApiError, Request

TENANT_HEADER = "X-ERP-Tenant"
API_KEY_HEADER = "X-API-Key"
_CHALLENGE = (("WWW-Authenticate", 'Bearer realm="mock-erp"'),)
_HOW = f"send 'Authorization: Bearer <token>' or '{API_KEY_HEADER}: <key>'"


class Authenticator:
    """Maps credentials to ERP tenants."""

    def __init__(self, config: MockErpConfig) -> None:
        self._by_token = config.tenant_for_token()
        self._by_key = config.tenant_for_api_key()

    def tenant(self, request: Request) -> str:
        """The ERP tenant of the request; raises ApiError 401 / 400 / 403 as the API documents."""
        credential_tenant = self._credential_tenant(request)
        header = request.headers.get(TENANT_HEADER.lower())
        if header is None or not header.strip():
            raise ApiError(
                400,
                "missing_tenant_header",
                f"missing header {TENANT_HEADER}: send the ERP tenant code of your credentials, "
                f"e.g. '{TENANT_HEADER}: {credential_tenant}'",
            )
        if header.strip() != credential_tenant:
            raise ApiError(
                403,
                "tenant_mismatch",
                f"{TENANT_HEADER} {header.strip()!r} is not the ERP tenant of these credentials: send the "
                f"tenant code your token or key was issued for, or use credentials of {header.strip()!r}",
            )
        return credential_tenant

    def _credential_tenant(self, request: Request) -> str:
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer":
                raise ApiError(
                    401,
                    "unauthorized",
                    f"unsupported Authorization scheme {scheme!r}: {_HOW}",
                    _CHALLENGE,
                )
            token = token.strip()
            tenant = self._by_token.get(token)
            if tenant is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    f"bearer token {mask_secret(token)} is not valid: {_HOW} with credentials of an "
                    "ERP tenant",
                    _CHALLENGE,
                )
            return tenant
        key = request.headers.get(API_KEY_HEADER.lower())
        if key is not None:
            tenant = self._by_key.get(key.strip())
            if tenant is None:
                raise ApiError(
                    401,
                    "unauthorized",
                    f"{API_KEY_HEADER} {mask_secret(key.strip())} is not valid: {_HOW} with credentials of "
                    "an ERP tenant",
                    _CHALLENGE,
                )
            return tenant
        raise ApiError(401, "unauthorized", f"missing credentials: {_HOW}", _CHALLENGE)
