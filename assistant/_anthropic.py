"""The Anthropic Messages API behind our :class:`~assistant.Model` interface (tool use, streaming).

The adapter converts our blocks to the API's and back, and turns every provider failure into
``ProviderUnavailable`` (429, 529, 5xx, timeouts, network: worth retrying later) or ``ProviderRejected``
(bad key, bad request), each with a message that says what happened and that nothing was changed. The API
key is read from the environment variable the settings name and never appears in a message.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2

from assistant._errors import ProviderRejected, ProviderUnavailable
from assistant._model import (
    Block,
    ModelRequest,
    ModelResponse,
    TextBlock,
    TextSink,
    ToolResult,
    ToolUse,
    Usage,
)
from assistant._settings import AssistantSettings
from erp_platform._errors import ConfigurationError

_OFFLINE_HINT = (
    "nothing was changed; the offline assistant still works (`erp assistant draft TENANT \"...\" --offline`)"
)


class AnthropicModel:
    """A :class:`~assistant.Model` on the Anthropic Messages API.

    Args:
        settings: model name, timeout, retries, base URL and the name of the API key's variable.
        api_key: the key (default: read from the variable ``settings.api_key_env`` names).
        http_client: an ``httpx2.Client`` for the SDK (tests pass one with a ``MockTransport`` to replay
            recorded responses through the SDK's own HTTP layer).

    Raises:
        ConfigurationError: no API key is available.
    """

    def __init__(
        self,
        settings: AssistantSettings,
        *,
        api_key: str | None = None,
        http_client: httpx2.Client | None = None,
    ) -> None:
        key = api_key or settings.api_key()
        if not key:
            raise ConfigurationError(
                f"no AI provider key: {settings.api_key_env} is not set. Set it to an Anthropic API key, "
                "point ERP_ASSISTANT_API_KEY_ENV at the variable that holds one, or use the offline assistant "
                "(`erp assistant draft TENANT \"...\" --offline`)"
            )
        self._settings = settings
        self._client = anthropic.Anthropic(
            api_key=key,
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            max_retries=settings.provider_retries,
            http_client=http_client,
        )

    @property
    def name(self) -> str:
        return self._settings.model

    def complete(self, request: ModelRequest, *, on_text: TextSink | None = None) -> ModelResponse:
        params: dict[str, Any] = {
            "model": self._settings.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": [
                {"role": m.role, "content": [_block_param(b) for b in m.content]} for m in request.messages
            ],
        }
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        try:
            if on_text is None:
                message = self._client.messages.create(**params)
            else:
                with self._client.messages.stream(**params) as stream:
                    for text in stream.text_stream:
                        on_text(text)
                    message = stream.get_final_message()
        except anthropic.APIError as exc:
            raise _translate(exc, self._settings) from None
        return _response(message)


def _block_param(block: Block) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUse):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    assert isinstance(block, ToolResult)
    return {"type": "tool_result", "tool_use_id": block.tool_use_id, "content": block.content,
            "is_error": block.is_error}


def _response(message: Any) -> ModelResponse:
    blocks: list[Block] = []
    for item in message.content:
        if item.type == "text":
            blocks.append(TextBlock(text=item.text))
        elif item.type == "tool_use":
            blocks.append(ToolUse(id=item.id, name=item.name, input=dict(item.input or {})))
    usage = Usage(input_tokens=int(message.usage.input_tokens or 0),
                  output_tokens=int(message.usage.output_tokens or 0))
    return ModelResponse(content=tuple(blocks), stop_reason=str(message.stop_reason or "end_turn"), usage=usage,
                         model=str(message.model))


def _api_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return f"HTTP {exc.status_code}"


def _translate(exc: anthropic.APIError, settings: AssistantSettings) -> Exception:
    retries = settings.provider_retries
    tried = f"after {retries + 1} attempt{'s' if retries else ''}"
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderUnavailable(
            f"the AI provider did not answer within {settings.timeout_seconds:g} s {tried} "
            f"(ERP_ASSISTANT_TIMEOUT_SECONDS); try again later; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderUnavailable(
            f"the AI provider could not be reached {tried} (network error); check the connection or "
            f"ERP_ASSISTANT_BASE_URL; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.RateLimitError):
        return ProviderUnavailable(
            f"the AI provider is rate limiting this API key (HTTP 429: {_api_message(exc)}) {tried}; wait "
            f"a minute and try again; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.APIStatusError) and exc.status_code == 529:
        return ProviderUnavailable(
            f"the AI provider is overloaded (HTTP 529: {_api_message(exc)}) {tried}; try again in a few "
            f"minutes; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.APIStatusError) and exc.status_code >= 500:
        return ProviderUnavailable(
            f"the AI provider failed (HTTP {exc.status_code}: {_api_message(exc)}) {tried}; try again "
            f"later; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return ProviderRejected(
            f"the AI provider refused the API key in {settings.api_key_env} (HTTP {exc.status_code}: "
            f"{_api_message(exc)}); set a valid key; {_OFFLINE_HINT}"
        )
    if isinstance(exc, anthropic.APIStatusError):
        return ProviderRejected(
            f"the AI provider rejected the request (HTTP {exc.status_code}: {_api_message(exc)}); check "
            f"ERP_ASSISTANT_MODEL ({settings.model!r}); {_OFFLINE_HINT}"
        )
    return ProviderUnavailable(f"the AI provider failed ({type(exc).__name__}); {_OFFLINE_HINT}")
