"""A scripted :class:`Model`: replays a fixed transcript of responses (tests, benchmarks, demos offline).

Each step is a :class:`ModelResponse`, a function of the request returning one (so a script can react to
tool results, e.g. repair a draft from the problems it was sent), or an exception to raise (provider
errors). Usage is estimated at four characters per token of what was sent and received, so budgets and
the benchmark's token figures are deterministic.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from assistant._errors import AssistantError
from assistant._model import Block, ModelRequest, ModelResponse, TextBlock, TextSink, ToolUse, Usage

Step = ModelResponse | Callable[[ModelRequest], ModelResponse] | BaseException
_CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` at four characters per token (at least 1 for non-empty text)."""
    return (len(text) + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN


class ScriptedModel:
    """Answers each call with the next step of its script; records every request it received.

    Example::

        model = ScriptedModel([ScriptedModel.call("list_sdks", {}), ScriptedModel.say("Done.")])
    """

    def __init__(self, steps: Iterable[Step], *, name: str = "scripted") -> None:
        self._steps = list(steps)
        self._name = name
        self._ids = itertools.count(1)
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def remaining(self) -> int:
        """Steps not yet used."""
        return len(self._steps)

    def complete(self, request: ModelRequest, *, on_text: TextSink | None = None) -> ModelResponse:
        self.requests.append(request)
        if not self._steps:
            raise AssistantError(
                f"the scripted model {self._name!r} has no step left for call {len(self.requests)}: "
                "add steps to its script"
            )
        step = self._steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        response = step(request) if callable(step) else step
        if response.usage.total == 0:
            sent = estimate_tokens(request.model_dump_json())
            received = estimate_tokens(ModelResponse(content=response.content).model_dump_json())
            response = response.model_copy(update={"usage": Usage(input_tokens=sent, output_tokens=received)})
        if not response.model:
            response = response.model_copy(update={"model": self._name})
        if on_text is not None and response.text:
            on_text(response.text)
        return response

    # -- building scripts --------------------------------------------------------------------------------
    @staticmethod
    def say(text: str) -> ModelResponse:
        """A final text answer."""
        return ModelResponse(content=(TextBlock(text=text),), stop_reason="end_turn")

    @staticmethod
    def call(name: str, tool_input: dict[str, Any], *, text: str = "", call_id: str | None = None) -> ModelResponse:
        """One tool call (optionally preceded by text)."""
        blocks: list[Block] = [TextBlock(text=text)] if text else []
        blocks.append(ToolUse(id=call_id or f"toolu_{uuid.uuid4().hex[:16]}", name=name, input=tool_input))
        return ModelResponse(content=tuple(blocks), stop_reason="tool_use")
