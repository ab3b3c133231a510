"""A scripted provider: a model that follows rules, for tests, demos and benchmarks.

It ships in the library (like pydantic-ai's ``TestModel``) so that tests and
the offline demo bot exercise the real agent loop without any network.

A script is a list of rules. For each model turn the provider looks at the
last input — the last user message or tool result in the history — and uses
the first rule that matches it:

    {"match": "remember (?P<what>.+)", "on": "user",
     "text": "I'll save that.", "toolCalls": [{"name": "save_note",
                                                "arguments": {"text": "\\g<what>"}}]}

``match`` is a regular expression searched in the input text; group
references (``\\1``, ``\\g<name>``) in ``text`` and in string arguments are
expanded from it. ``on`` limits a rule to user messages or to tool results
(``tool`` may name the tool). When nothing matches, ``fallback`` is said.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections import deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage
from core.providers.base import (
    STOP_END_TURN,
    STOP_TOOL_USE,
    ModelRequest,
    ModelTurn,
    StreamPart,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from core.providers.errors import ProviderProtocolError


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class ScriptedToolCall(_Model):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptRule(_Model):
    match: str = ".*"
    """Regular expression searched in the last input's text."""
    on: Literal["user", "tool", "any"] = "any"
    tool: str | None = None
    """With ``on: tool``: only results of this tool."""
    text: str = ""
    thinking: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    delay: float | None = None
    """Seconds to wait before this answer (overrides the script's ``delay``)."""

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class Script(_Model):
    rules: tuple[ScriptRule, ...] = ()
    fallback: str = "I have no scripted answer for that."
    chunk_size: int = 16
    """Characters per streamed text chunk."""
    delay: float = 0.0
    """Seconds to wait before answering (simulates model latency)."""

    @classmethod
    def from_file(cls, path: Path) -> Script:
        """Load a script from a JSON file; errors name the file."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise ValueError(f"cannot load script {path}: {exc}") from exc


def _last_input(messages: Sequence[Message]) -> UserMessage | ToolResult | None:
    for message in reversed(messages):
        if isinstance(message, UserMessage | ToolResult):
            return message
    return None


def _rule_applies(rule: ScriptRule, last: UserMessage | ToolResult) -> re.Match[str] | None:
    if isinstance(last, UserMessage):
        if rule.on == "tool":
            return None
    elif rule.on == "user" or (rule.tool is not None and rule.tool != last.name):
        return None
    return re.search(rule.match, last.content, flags=re.DOTALL)


def _expand(value: Any, match: re.Match[str]) -> Any:
    if isinstance(value, str):
        return match.expand(value)
    if isinstance(value, dict):
        return {k: _expand(v, match) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, match) for v in value]
    return value


RECORDED_REQUESTS = 100
"""Requests a provider remembers: each holds the whole history it was sent."""


class ScriptedProvider:
    """Answers from a :class:`Script`; streams text in chunks like a real API."""

    def __init__(self, script: Script, *, name: str = "scripted") -> None:
        self.name = name
        self.script = script
        self.requests: deque[ModelRequest] = deque(maxlen=RECORDED_REQUESTS)
        """The latest requests, for tests; bounded, as the demo bot serves for days."""
        self._ids = itertools.count(1)

    def _choose(self, request: ModelRequest) -> tuple[ScriptRule | None, re.Match[str] | None]:
        last = _last_input(request.messages)
        if last is None:
            return None, None
        for rule in self.script.rules:
            found = _rule_applies(rule, last)
            if found is not None:
                return rule, found
        return None, None

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamPart]:
        self.requests.append(request)
        last = _last_input(request.messages)
        rule, found = self._choose(request)
        delay = rule.delay if rule is not None and rule.delay is not None else self.script.delay
        if delay:
            await asyncio.sleep(delay)
        calls: tuple[ToolCall, ...] = ()
        if rule is None or found is None:
            text, thinking = self.script.fallback, ""
        else:
            try:
                text, thinking = found.expand(rule.text), found.expand(rule.thinking)
                calls = tuple(
                    ToolCall(
                        id=f"call_{secrets.token_hex(6)}_{next(self._ids)}",
                        name=c.name,
                        arguments=json.dumps(_expand(c.arguments, found)),
                    )
                    for c in rule.tool_calls
                )
            except (re.error, IndexError) as exc:
                raise ProviderProtocolError(
                    f"{self.name}: script rule {rule.match!r} has a bad template "
                    f"(write a literal backslash as \\\\): {exc}"
                ) from exc
        size = max(1, self.script.chunk_size)
        for i in range(0, len(thinking), size):
            yield ThinkingDelta(thinking[i : i + size])
        for i in range(0, len(text), size):
            yield TextDelta(text[i : i + size])
        yield ModelTurn(
            message=AssistantMessage(content=text, thinking=thinking, tool_calls=calls),
            stop_reason=STOP_TOOL_USE if calls else STOP_END_TURN,
            usage=Usage(
                input_tokens=len(last.content) // 4 if last is not None else 0,
                output_tokens=len(text) // 4,
            ),
        )

    async def aclose(self) -> None:
        return None
