"""Conversation history: the typed messages an agent's session is made of.

The history is also the agent's checkpoint. An ``AssistantMessage`` with tool
calls whose results are not (all) in the history means the turn is suspended:
the calls without a ``ToolStarted`` marker still await a decision; a call with
a marker but no result may have run before a crash, and the agent tells the
model so instead of running it again (docs/design.md, rules 4 and 5).

Messages serialize to one JSON object each (``role`` is the discriminator), so
a session store can keep them as JSONL lines or Redis list items.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCall(_Message):
    """One tool call requested by the model."""

    id: str
    name: str
    arguments: str = "{}"
    """The arguments as the model sent them: a JSON text, not yet validated."""

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a JSON object; raises ValueError when they are not one."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError(f"tool arguments must be a JSON object, got {type(value).__name__}")
        return value


class UserMessage(_Message):
    role: Literal["user"] = "user"
    content: str
    user: str | None = None
    """Who wrote it (a platform user id or name); None for the SDK's caller."""


class AssistantMessage(_Message):
    role: Literal["assistant"] = "assistant"
    content: str = ""
    thinking: str = ""
    thinking_signature: str | None = None
    """Anthropic's signature of the thinking block, sent back with tool results."""
    tool_calls: tuple[ToolCall, ...] = ()


class ToolStarted(_Message):
    """Marker saved just before a tool call runs (never sent to a model)."""

    role: Literal["tool_started"] = "tool_started"
    tool_call_id: str


class ToolResult(_Message):
    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False


Message = Annotated[
    UserMessage | AssistantMessage | ToolStarted | ToolResult, Field(discriminator="role")
]
_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


def message_to_json(message: Message) -> str:
    """One message as a compact JSON line."""
    return message.model_dump_json(exclude_defaults=False)


def message_from_json(text: str | bytes) -> Message:
    """Parse one message; raises pydantic.ValidationError on anything else."""
    return _ADAPTER.validate_json(text)


def pending_tool_calls(history: list[Message]) -> tuple[AssistantMessage, list[ToolCall]] | None:
    """The last assistant message's calls that have no result yet, if any.

    Returns None when the history does not end in a suspended tool step.
    """
    for index in range(len(history) - 1, -1, -1):
        message = history[index]
        if isinstance(message, UserMessage):
            return None
        if isinstance(message, AssistantMessage):
            if not message.tool_calls:
                return None
            answered = {m.tool_call_id for m in history[index + 1 :] if isinstance(m, ToolResult)}
            missing = [c for c in message.tool_calls if c.id not in answered]
            return (message, missing) if missing else None
    return None


def started_tool_calls(history: list[Message]) -> set[str]:
    """Ids of tool calls marked started in the current step.

    Only markers after the last assistant message count: some servers reuse
    tool call ids across turns ("call_0"), so an old marker must not make a
    new call look interrupted.
    """
    started: set[str] = set()
    for message in reversed(history):
        if isinstance(message, AssistantMessage):
            break
        if isinstance(message, ToolStarted):
            started.add(message.tool_call_id)
    return started
