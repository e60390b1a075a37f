"""Configuration of the mock ERP: ERP tenants with their credentials, data size and seed."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from erp_platform._errors import mask_secret

#: Upper bound of ``rows``: ids are formatted with 8 digits (C00000042) and line ids are 3 * rows.
MAX_ROWS = 10_000_000

_TENANT_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class TenantAuth(BaseModel):
    """Credentials that identify one ERP tenant: a bearer token and an API key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str = Field(min_length=1, description="accepted as 'Authorization: Bearer <token>'")
    api_key: str = Field(min_length=1, description="accepted as 'X-API-Key: <api_key>'")

    def __repr__(self) -> str:
        return f"TenantAuth(token={mask_secret(self.token)!r}, api_key={mask_secret(self.api_key)!r})"


def default_tenants() -> dict[str, TenantAuth]:
    """Two demo ERP tenants with public, well-known demo credentials."""
    return {
        "acme": TenantAuth(token="tok-acme", api_key="key-acme"),  # noqa: S106 (public demo value)
        "globex": TenantAuth(token="tok-globex", api_key="key-globex"),  # noqa: S106
    }


class MockErpConfig(BaseModel):
    """What the mock ERP serves.

    Example: ``MockErpConfig(tenants={"acme": TenantAuth(token="t", api_key="k")}, rows=10_000, seed=7)``.
    ``rows`` is the number of customers and of sales orders; items are ``max(rows // 10, 10)``, order
    lines ``3 * rows`` and invoices ``rows``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[str, TenantAuth] = Field(default_factory=default_tenants, min_length=1)
    rows: int = Field(1000, ge=1, le=MAX_ROWS)
    seed: int = Field(0, ge=0, le=2**63 - 1)

    @field_validator("tenants")
    @classmethod
    def _tenant_codes(cls, tenants: dict[str, TenantAuth]) -> dict[str, TenantAuth]:
        for code in tenants:
            if not _TENANT_CODE.match(code):
                raise ValueError(
                    f"ERP tenant code {code!r} is invalid: use 1-63 characters of a-z, 0-9, '_' and '-', "
                    "starting with a letter or digit"
                )
        return tenants

    @model_validator(mode="after")
    def _unique_credentials(self) -> MockErpConfig:
        owners: dict[str, str] = {}
        for code, auth in self.tenants.items():
            for kind, value in (("token", auth.token), ("api_key", auth.api_key)):
                other = owners.get(value)
                if other is not None and other != code:
                    raise ValueError(
                        f"ERP tenants {other!r} and {code!r} share the credential {mask_secret(value)} "
                        f"({kind}): give every tenant its own token and api_key"
                    )
                owners[value] = code
        return self

    def tenant_for_token(self) -> dict[str, str]:
        """Map of bearer token -> ERP tenant code."""
        return {auth.token: code for code, auth in self.tenants.items()}

    def tenant_for_api_key(self) -> dict[str, str]:
        """Map of API key -> ERP tenant code."""
        return {auth.api_key: code for code, auth in self.tenants.items()}
