"""The Anthropic adapter against Messages API responses replayed through the SDK's own HTTP layer.

The fixtures are hand-written (see fixtures/anthropic/README.md); the SDK parses them, accumulates the
stream and raises its own error classes, and the adapter turns them into our blocks and errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from assistant import (
    AnthropicModel,
    AssistantSettings,
    Message,
    ModelRequest,
    ProviderRejected,
    ProviderUnavailable,
    TextBlock,
    ToolResult,
    ToolSpec,
    ToolUse,
)
from erp_platform import ConfigurationError

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
KEY = "sk-ant-test-0123456789abcdef"
SETTINGS = AssistantSettings(api_key_env="ERP_TEST_ANTHROPIC_KEY", provider_retries=0, timeout_seconds=5)
Handler = Callable[[httpx2.Request], httpx2.Response]


def _model(handler: Handler, settings: AssistantSettings = SETTINGS) -> AnthropicModel:
    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return AnthropicModel(settings, api_key=KEY, http_client=client)


def _json(name: str, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    body = (FIXTURES / name).read_bytes()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=body, headers={"content-type": "application/json", **(headers or {})})

    return handler


REQUEST = ModelRequest(
    system="You write drafts.",
    messages=(
        Message.user("sync customers"),
        Message(role="assistant", content=(ToolUse(id="toolu_1", name="list_catalog", input={}),)),
        Message(role="user", content=(ToolResult(tool_use_id="toolu_1", content='{"sdks": []}'),)),
    ),
    tools=(ToolSpec(name="list_catalog", description="catalog", input_schema={"type": "object", "properties": {}}),),
    max_tokens=512,
)


def test_tool_use_response_becomes_blocks_and_usage() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append({"url": str(request.url), "key": request.headers.get("authorization"),
                     "body": json.loads(request.content)})
        return _json("tool_use.json")(request)

    response = _model(handler).complete(REQUEST)
    assert response.tool_calls == (
        ToolUse(id="toolu_01A09q90qw90lq917835lq9", name="describe_operation",
                input={"sdk": "mock_erp", "operation": "list_customers"}),
    )
    assert response.text == "I will look at the customer entity first."
    assert response.stop_reason == "tool_use"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (1843, 71)
    sent = seen[0]
    assert sent["url"] == "https://api.anthropic.com/v1/messages"
    assert sent["key"] == f"Bearer {KEY}"
    body = sent["body"]
    assert isinstance(body, dict)
    assert body["model"] == SETTINGS.model and body["max_tokens"] == 512 and body["system"] == "You write drafts."
    assert body["tools"] == [{"name": "list_catalog", "description": "catalog",
                              "input_schema": {"type": "object", "properties": {}}}]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "list_catalog", "input": {}}
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"sdks": []}', "is_error": False}
    ]


def test_text_response() -> None:
    response = _model(_json("text.json")).complete(REQUEST)
    assert response.content == (TextBlock(text="The draft loads customers into crm_customers every hour."),)
    assert response.tool_calls == ()
    assert response.usage.total == 2428


def test_streaming_delivers_text_as_it_comes_and_the_whole_tool_call() -> None:
    body = (FIXTURES / "stream_tool_use.sse").read_bytes()

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    chunks: list[str] = []
    response = _model(handler).complete(REQUEST, on_text=chunks.append)
    assert chunks == ["I will look at ", "the customer entity first."]
    assert response.tool_calls == (
        ToolUse(id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="describe_operation",
                input={"sdk": "mock_erp", "operation": "list_customers"}),
    )
    assert response.usage.output_tokens == 71


@pytest.mark.parametrize(
    ("fixture", "status", "error", "expected"),
    [
        ("error_429.json", 429, ProviderUnavailable,
         "the AI provider is rate limiting this API key (HTTP 429: Number of request tokens has exceeded your "
         "per-minute rate limit) after 1 attempt; wait a minute and try again; nothing was changed; the offline "
         "assistant still works (`erp assistant draft TENANT \"...\" --offline`)"),
        ("error_529.json", 529, ProviderUnavailable,
         "the AI provider is overloaded (HTTP 529: Overloaded) after 1 attempt; try again in a few minutes; "
         "nothing was changed; the offline assistant still works (`erp assistant draft TENANT \"...\" --offline`)"),
        ("error_401.json", 401, ProviderRejected,
         "the AI provider refused the API key in ERP_TEST_ANTHROPIC_KEY (HTTP 401: invalid x-api-key); set a valid "
         "key; nothing was changed; the offline assistant still works (`erp assistant draft TENANT \"...\" "
         "--offline`)"),
        ("error_400.json", 400, ProviderRejected,
         "the AI provider rejected the request (HTTP 400: model: claude-nonexistent is not a valid model); check "
         "ERP_ASSISTANT_MODEL ('claude-sonnet-4-5'); nothing was changed; the offline assistant still works "
         "(`erp assistant draft TENANT \"...\" --offline`)"),
    ],
)
def test_provider_errors_become_clear_messages(fixture: str, status: int, error: type[Exception],
                                               expected: str) -> None:
    with pytest.raises(error) as caught:
        _model(_json(fixture, status)).complete(REQUEST)
    assert str(caught.value) == expected
    assert KEY not in str(caught.value)
    assert getattr(caught.value, "transient", False) is (error is ProviderUnavailable)


def test_timeout_and_network_errors() -> None:
    def timeout(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    def refused(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderUnavailable) as caught:
        _model(timeout).complete(REQUEST)
    assert str(caught.value) == (
        "the AI provider did not answer within 5 s after 1 attempt (ERP_ASSISTANT_TIMEOUT_SECONDS); try again "
        "later; nothing was changed; the offline assistant still works (`erp assistant draft TENANT \"...\" "
        "--offline`)"
    )
    with pytest.raises(ProviderUnavailable, match=r"could not be reached after 1 attempt \(network error\)"):
        _model(refused).complete(REQUEST)


def test_the_sdk_retries_an_overloaded_provider_then_succeeds() -> None:
    calls: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) == 1:
            return _json("error_529.json", 529, {"retry-after-ms": "10"})(request)
        return _json("text.json")(request)

    model = _model(handler, SETTINGS.model_copy(update={"provider_retries": 2}))
    assert model.complete(REQUEST).text.startswith("The draft loads customers")
    assert len(calls) == 2


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ERP_TEST_ANTHROPIC_KEY", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        AnthropicModel(SETTINGS)
    assert str(caught.value) == (
        "no AI provider key: ERP_TEST_ANTHROPIC_KEY is not set. Set it to an Anthropic API key, point "
        "ERP_ASSISTANT_API_KEY_ENV at the variable that holds one, or use the offline assistant "
        "(`erp assistant draft TENANT \"...\" --offline`)"
    )
