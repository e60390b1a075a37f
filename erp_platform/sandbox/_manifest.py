"""What one SDK version is granted by the host. Everything is denied until the manifest grants it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erp_platform.sandbox._headers import host_owned_reason


class AuthScheme(StrEnum):
    NONE = "none"
    BEARER = "bearer"  # Authorization: Bearer <secret>
    API_KEY_HEADER = "api_key_header"  # <header_name>: <secret>
    API_KEY_QUERY = "api_key_query"  # ?<param_name>=<secret>
    BASIC = "basic"  # Authorization: Basic base64(<username secret>:<password secret>)


class AuthConfig(BaseModel):
    """How the host authenticates requests. Names refer to the tenant's credential store, never values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: AuthScheme = AuthScheme.NONE
    credential: str | None = Field(None, description="credential name holding the token / key / password")
    username_credential: str | None = Field(None, description="basic auth: credential holding the user name")
    header_name: str | None = Field(None, description="api_key_header: header to put the key in")
    param_name: str | None = Field(None, description="api_key_query: query parameter to put the key in")

    @field_validator("header_name")
    @classmethod
    def _key_header_not_host_owned(cls, name: str | None) -> str | None:
        # An API key may travel in Authorization (the host puts it there); never in Host, Content-Length...
        why = None if name is None or name.strip().lower() == "authorization" else host_owned_reason(name)
        if why is not None:
            raise ValueError(f"an API key cannot be sent in header {name!r}: it is owned by the host ({why})")
        return name


class HeaderSource(BaseModel):
    """A header the ERP requires on every request and where the host takes its value from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    credential: str | None = Field(None, description="take the value from this credential (host-added)")
    value: str | None = Field(None, description="constant value (non-secret)")

    @field_validator("name")
    @classmethod
    def _not_host_owned(cls, name: str) -> str:
        # Cookie passes here: the builder admits it only when the spec declares one.
        why = host_owned_reason(name, cookie_declared=True)
        if why is not None:
            raise ValueError(f"header {name!r} is owned by the host ({why}); an SDK cannot send it")
        return name


class SandboxLimits(BaseModel):
    """Resource limits for one guest instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fuel: int = Field(2_000_000_000, description="wasm fuel per call (instructions, roughly)")
    memory_bytes: int = Field(256 * 1024 * 1024, description="linear memory cap per instance")
    deadline_seconds: float = Field(60.0, description="wall-clock deadline per call")
    max_output_bytes: int = Field(32 * 1024 * 1024, description="cap on the guest's result text")
    max_response_bytes: int = Field(64 * 1024 * 1024, description="cap on one HTTP response body")
    request_timeout_seconds: float = Field(30.0, description="timeout of one HTTP request")
    max_requests_per_call: int = Field(50, description="HTTP requests one execute() may make")
    max_retries: int = Field(4, description="retries of 429 / 5xx / connection errors")
    max_retry_after_seconds: float = Field(30.0, description="longest Retry-After the host honours")
    max_log_lines: int = Field(200, description="log lines kept per call")


class SdkManifest(BaseModel):
    """Capabilities granted to one SDK version: network reach, auth, headers, limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    sdk_name: str
    sdk_version: int
    base_url: str
    allowed_domains: tuple[str, ...] = Field(
        (), description="host names (exact, or '*.example.com' for subdomains) the guest may reach"
    )
    auth: AuthConfig = AuthConfig()
    required_headers: tuple[HeaderSource, ...] = ()
    limits: SandboxLimits = SandboxLimits()
