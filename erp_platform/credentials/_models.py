"""What callers see of a credential: metadata only, never the value."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StoreName = Literal["local", "vault"]


class CredentialInfo(BaseModel):
    """A credential's metadata. It has no field for the secret and refuses extra fields, so it cannot
    carry the value by mistake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(description="tenant slug")
    sdk: str | None = Field(
        description="the SDK the credential is bound to (only it reads and sends it); None for a tenant-wide "
        "credential stored before credentials were bound to SDKs, which no SDK reads"
    )
    name: str = Field(description="credential name, e.g. erp_api_token")
    store: StoreName = Field(description="backend holding the secret: local (encrypted table) or vault")
    store_path: str = Field(
        description="path of the secret in the backend: erp/tenants/<slug>/sdks/<sdk>/<name>"
    )
    version: int = Field(description="1 when created; +1 on every replace or rotation")
    created_at: datetime
    rotated_at: datetime = Field(description="when the current value was written")
