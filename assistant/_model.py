"""Our own small provider interface: messages + tools in, content blocks (text, tool calls) + usage out.

The assistant only ever talks to a :class:`Model`; the Anthropic adapter and the scripted model used by
tests and benchmarks are two implementations of it. Blocks mirror the Messages API's tool-use shape, so a
conversation can be replayed against any implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextBlock(_Frozen):
    """Text written by the user or the model."""

    type: Literal["text"] = "text"
    text: str


class ToolUse(_Frozen):
    """The model asks for a tool to be run with ``input`` (a JSON object)."""

    type: Literal["tool_use"] = "tool_use"
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    input: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Frozen):
    """What a tool returned (JSON text), sent back to the model; ``is_error`` marks problems to repair."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


Block = Annotated[TextBlock | ToolUse | ToolResult, Field(discriminator="type")]


class Message(_Frozen):
    """One turn: the user's (text and tool results) or the assistant's (text and tool calls)."""

    role: Literal["user", "assistant"]
    content: tuple[Block, ...]

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", content=(TextBlock(text=text),))


class ToolSpec(_Frozen):
    """A tool the model may call; ``input_schema`` is a JSON Schema object."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str
    input_schema: dict[str, Any]


class Usage(_Frozen):
    """Tokens one call consumed."""

    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(input_tokens=self.input_tokens + other.input_tokens,
                     output_tokens=self.output_tokens + other.output_tokens)


class ModelRequest(_Frozen):
    """Everything one model call sees."""

    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = Field(4096, ge=1)


class ModelResponse(_Frozen):
    """The model's answer: content blocks, why it stopped, and the tokens it cost."""

    content: tuple[Block, ...]
    stop_reason: str = "end_turn"
    usage: Usage = Usage()
    model: str = ""

    @property
    def tool_calls(self) -> tuple[ToolUse, ...]:
        return tuple(b for b in self.content if isinstance(b, ToolUse))

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    def as_message(self) -> Message:
        return Message(role="assistant", content=self.content)


TextSink = Callable[[str], None]


class Model(Protocol):
    """An AI provider behind the assistant. Implementations raise ``ProviderUnavailable`` (transient:
    429, 529, 5xx, timeouts, network) or ``ProviderRejected`` (bad key or request) and nothing else."""

    @property
    def name(self) -> str:
        """The provider's model name, for the audit trail."""
        ...

    def complete(self, request: ModelRequest, *, on_text: TextSink | None = None) -> ModelResponse:
        """Run one call; ``on_text`` receives text as it streams (when the implementation streams)."""
        ...
