"""Assistant settings from the environment (prefix ``ERP_ASSISTANT_``), validated once."""

from __future__ import annotations

import os

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from erp_platform._errors import ConfigurationError

DEFAULT_MODEL = "claude-sonnet-4-5"


class AssistantSettings(BaseSettings):
    """What the assistant may spend and which provider it talks to.

    Construct with :func:`load_assistant_settings` to get errors that name the variable.
    """

    model_config = SettingsConfigDict(env_prefix="ERP_ASSISTANT_", extra="ignore", frozen=True)

    enabled: bool = Field(True, description="false turns the AI provider off for every tenant")
    model: str = Field(DEFAULT_MODEL, min_length=1, max_length=100, description="provider model name")
    api_key_env: str = Field(
        "ANTHROPIC_API_KEY", pattern=r"^[A-Z_][A-Z0-9_]{0,99}$",
        description="name of the environment variable holding the provider's API key (never the key itself)",
    )
    base_url: str | None = Field(None, description="provider base URL (default: the provider's own)")
    token_budget: int = Field(200_000, ge=1000, description="input + output tokens one conversation may use")
    max_tool_rounds: int = Field(8, ge=1, le=50, description="model calls per user message, tools included")
    max_repairs: int = Field(3, ge=0, le=10, description="repairs of an invalid draft before giving up")
    max_output_tokens: int = Field(4096, ge=256, le=64_000, description="output tokens per model call")
    timeout_seconds: float = Field(60.0, gt=0, le=600, description="one provider call's timeout")
    provider_retries: int = Field(2, ge=0, le=10, description="retries of 429/529/timeouts by the SDK")
    docs_max_rounds: int = Field(40, ge=1, le=200, description="model calls of one SDK-from-docs extraction")
    dry_run_rows: int = Field(20, ge=1, le=1000, description="records read per extract in a dry run")
    web_port: int = Field(3100, ge=0, le=65535, description="port of the chat page served by `erp dev`")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL; use e.g. https://api.anthropic.com")
        return value.rstrip("/")

    def api_key(self) -> str | None:
        """The provider API key from the variable named by ``api_key_env`` (None when unset)."""
        return os.environ.get(self.api_key_env) or None


def load_assistant_settings(**overrides: object) -> AssistantSettings:
    """Read the assistant settings from the environment (and overrides).

    Raises:
        ConfigurationError: a setting is invalid; the message names its environment variable.
    """
    try:
        return AssistantSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"ERP_ASSISTANT_{field.upper()}: {msg}")
        raise ConfigurationError("invalid assistant setting: " + "; ".join(lines)) from None
