"""The scripted replies of the fake LLM server, and their JSON form.

A script is a queue of replies, one per request. A reply is either a
:class:`TurnReply` (a model turn, streamed in small fragments, optionally
broken by a :class:`Fault`) or a :class:`StatusReply` (an HTTP error answer).

JSON form (the ``--script`` file of the standalone server, or a POST to
``/_fake/replies``): a list of objects, or ``{"replies": [...]}``::

    {"text": "Hi", "thinking": "…",
     "tool_calls": [{"name": "add", "arguments": {"a": 1}, "id": "call_1"}],
     "stop_reason": null, "input_tokens": 11, "output_tokens": 7,
     "fragment_size": 4, "reasoning_field": "reasoning_content",
     "signature": "sig-fake", "delay": 0.0,
     "fault": {"kind": "disconnect" | "malformed" | "error" | "stall", "after": 3,
               "error_type": "overloaded_error", "message": "Overloaded"}}
    {"status": 429, "body": null, "retry_after": "2", "headers": {"x-a": "b"}}

Every key but ``status`` (for an error answer) is optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Fault",
    "Reply",
    "ScriptedToolCall",
    "StatusReply",
    "TurnReply",
    "replies_from_json",
    "reply_from_json",
]

FaultKind = Literal["disconnect", "malformed", "error", "stall"]


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: str = "{}"
    """The arguments as JSON text, streamed in fragments."""
    id: str | None = None
    """None → the server makes one up (``call_<n>`` / ``toolu_<n>``)."""


@dataclass(frozen=True)
class Fault:
    """Something that goes wrong after ``after`` SSE events of a turn were sent.

    ``disconnect`` closes the TCP connection mid-body; ``malformed`` sends a data
    line that is not JSON (and then the rest of the turn); ``error`` sends the
    API's in-stream error object (``error_type``/``message``) and ends the body;
    ``stall`` sends only SSE keep-alive comments from then on, until the client
    leaves (then :attr:`FakeLLMServer.client_gone` is set).
    """

    kind: FaultKind
    after: int = 2
    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass(frozen=True)
class TurnReply:
    """A model turn, streamed like the real API streams it."""

    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    stop_reason: str | None = None
    """The wire value; None → derived (``stop``/``tool_calls``, ``end_turn``/``tool_use``)."""
    input_tokens: int = 11
    output_tokens: int = 7
    fragment_size: int = 4
    """Characters per text, thinking or arguments fragment."""
    reasoning_field: str = "reasoning_content"
    """OpenAI protocol: the delta key of reasoning text (``reasoning`` for OpenRouter/Ollama)."""
    signature: str = "sig-fake"
    """Anthropic protocol: the thinking block's signature."""
    delay: float = 0.0
    """Seconds between events."""
    fault: Fault | None = None


@dataclass(frozen=True)
class StatusReply:
    """An HTTP error answer; ``body`` None → the API's own error JSON for ``status``."""

    status: int
    body: str | None = None
    retry_after: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())


Reply = TurnReply | StatusReply


def reply_from_json(obj: dict[str, Any]) -> Reply:
    """One reply from its JSON form (see the module docstring)."""
    if "status" in obj:
        body = obj.get("body")
        return StatusReply(
            status=int(obj["status"]),
            body=body if body is None or isinstance(body, str) else json.dumps(body),
            retry_after=None if obj.get("retry_after") is None else str(obj["retry_after"]),
            headers=tuple((str(k), str(v)) for k, v in dict(obj.get("headers") or {}).items()),
        )
    calls = tuple(
        ScriptedToolCall(
            name=str(call["name"]),
            arguments=_arguments(call.get("arguments", {})),
            id=call.get("id"),
        )
        for call in obj.get("tool_calls", ())
    )
    fault = obj.get("fault")
    known = {f for f in TurnReply.__dataclass_fields__ if f not in ("tool_calls", "fault")}
    unknown = set(obj) - known - {"tool_calls", "fault"}
    if unknown:
        raise ValueError(f"unknown reply keys: {sorted(unknown)}")
    return TurnReply(
        **{k: v for k, v in obj.items() if k in known},
        tool_calls=calls,
        fault=Fault(**fault) if fault else None,
    )


def _arguments(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def replies_from_json(data: object) -> list[Reply]:
    """A whole script: a list of replies or ``{"replies": [...]}``."""
    if isinstance(data, dict):
        data = data.get("replies", [])
    if not isinstance(data, list):
        raise ValueError("a script is a list of replies or {'replies': [...]}")
    return [reply_from_json(item) for item in data]
