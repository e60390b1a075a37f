"""ERP_ASSISTANT_* settings: defaults, and every bad value named with its variable."""

from __future__ import annotations

import pytest

from assistant import load_assistant_settings
from erp_platform import ConfigurationError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("ERP_ASSISTANT_"):
            monkeypatch.delenv(key)
    settings = load_assistant_settings()
    assert (settings.enabled, settings.model, settings.api_key_env) == (True, "claude-sonnet-4-5", "ANTHROPIC_API_KEY")
    assert (settings.token_budget, settings.max_tool_rounds, settings.max_repairs) == (200_000, 8, 3)
    assert settings.web_port == 3100


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ERP_ASSISTANT_TOKEN_BUDGET", "10", "invalid assistant setting: ERP_ASSISTANT_TOKEN_BUDGET: Input should be "
                                             "greater than or equal to 1000"),
        ("ERP_ASSISTANT_MAX_TOOL_ROUNDS", "0", "invalid assistant setting: ERP_ASSISTANT_MAX_TOOL_ROUNDS: Input should "
                                               "be greater than or equal to 1"),
        ("ERP_ASSISTANT_MAX_REPAIRS", "many", "invalid assistant setting: ERP_ASSISTANT_MAX_REPAIRS: Input should be a "
                                              "valid integer, unable to parse string as an integer"),
        ("ERP_ASSISTANT_API_KEY_ENV", "sk-ant-secret", "invalid assistant setting: ERP_ASSISTANT_API_KEY_ENV: String "
                                                       "should match pattern '^[A-Z_][A-Z0-9_]{0,99}$'"),
        ("ERP_ASSISTANT_BASE_URL", "api.example.com", "invalid assistant setting: ERP_ASSISTANT_BASE_URL: not an "
                                                      "http(s) URL; use e.g. https://api.anthropic.com"),
        ("ERP_ASSISTANT_ENABLED", "perhaps", "invalid assistant setting: ERP_ASSISTANT_ENABLED: Input should be a "
                                             "valid boolean, unable to interpret input"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                        expected: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_assistant_settings()
    assert str(caught.value) == expected
