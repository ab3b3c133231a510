"""The provider seam: stream one model turn.

A provider turns a :class:`ModelRequest` (system prompt, history, tools) into
an async stream of parts: text and thinking deltas as they arrive, then one
final :class:`ModelTurn` with the assembled assistant message (tool calls put
together from their streamed fragments), token usage and the stop reason.

HTTP providers take an ``httpx.AsyncClient`` (injected; tests point it at a
loopback server or give it an ``httpx.MockTransport``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.messages import AssistantMessage, Message

STOP_END_TURN = "end_turn"
STOP_TOOL_USE = "tool_use"
STOP_MAX_TOKENS = "max_tokens"


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments object."""


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system_prompt: str
    messages: Sequence[Message]
    """The history; providers skip ``ToolStarted`` markers."""
    tools: Sequence[ToolSpec] = ()
    max_tokens: int = 4096
    temperature: float | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class ModelTurn:
    """The end of a streamed turn: everything the model said, assembled."""

    message: AssistantMessage
    stop_reason: str = STOP_END_TURN
    usage: Usage = field(default_factory=Usage)


StreamPart = TextDelta | ThinkingDelta | ModelTurn


@runtime_checkable
class Provider(Protocol):
    """Streams model turns. Implementations must end every stream with a ModelTurn
    or raise a :class:`core.providers.errors.ProviderError`."""

    name: str

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamPart]: ...

    async def aclose(self) -> None: ...
