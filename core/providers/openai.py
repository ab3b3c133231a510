"""The OpenAI-compatible Chat Completions provider (OpenAI, OpenRouter, DeepSeek, Ollama, vLLM…).

One streamed ``POST {api_base}/chat/completions`` per model turn. The stream's
chunks carry text deltas, reasoning deltas (``reasoning_content`` from
DeepSeek and vLLM, ``reasoning`` from OpenRouter and Ollama) and tool-call
fragments keyed by ``index``: the id and name come in the first fragment, the
arguments in pieces across many. They are put together into one
:class:`~core.messages.AssistantMessage` at the end.

Thinking is not sent back in the history: the Chat Completions API has no
field for it and several servers reject unknown message keys.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage
from core.providers.base import (
    STOP_END_TURN,
    STOP_MAX_TOKENS,
    STOP_TOOL_USE,
    ModelRequest,
    ModelTurn,
    StreamPart,
    TextDelta,
    ThinkingDelta,
    ToolSpec,
    Usage,
)
from core.providers.errors import ProviderConnectionError, ProviderProtocolError
from core.providers.http import StreamingBody, post_stream
from core.providers.retry import RetryPolicy

__all__ = ["OpenAIChatProvider", "chat_messages", "chat_tools"]

_FINISH_REASONS = {
    "stop": STOP_END_TURN,
    "tool_calls": STOP_TOOL_USE,
    "function_call": STOP_TOOL_USE,
    "length": STOP_MAX_TOKENS,
}


class OpenAIChatProvider:
    """Streams turns from an OpenAI-compatible Chat Completions endpoint.

    Args:
        client: the HTTP client (its timeouts, proxies and limits apply).
        name: the provider name used in errors and logs.
        api_base: the base URL up to and including ``/v1``.
        api_key: sent as ``Authorization: Bearer``; None for keyless local servers.
        headers: extra headers (OpenRouter's ``HTTP-Referer``, …).
        retry: the retry policy; the default retries 3 times.
        max_tokens_field: ``"max_tokens"`` or ``"max_completion_tokens"``. The
            default picks ``max_completion_tokens`` for api.openai.com (its
            reasoning models refuse the older field) and ``max_tokens``
            elsewhere (what most compatible servers understand).
        close_client: whether :meth:`aclose` closes ``client`` (when the
            provider was given ownership of it).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str = "openai",
        api_base: str,
        api_key: str | None,
        headers: dict[str, str] | None = None,
        retry: RetryPolicy | None = None,
        max_tokens_field: str | None = None,
        close_client: bool = False,
    ) -> None:
        self.name = name
        self._client = client
        self._url = api_base.rstrip("/") + "/chat/completions"
        self._headers = {"accept": "text/event-stream", **(headers or {})}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._retry = retry
        host = urlsplit(api_base).hostname or ""
        default_field = "max_completion_tokens" if host == "api.openai.com" else "max_tokens"
        self._max_tokens_field = max_tokens_field or default_field
        self._close_client = close_client

    def __repr__(self) -> str:
        return f"OpenAIChatProvider(name={self.name!r}, url={self._url!r})"

    def payload(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body for ``request`` (public so callers can inspect what is sent)."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": chat_messages(request.system_prompt, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            self._max_tokens_field: request.max_tokens,
        }
        if request.tools:
            body["tools"] = chat_tools(request.tools)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamPart]:
        """Stream one turn: text and thinking deltas, then one :class:`ModelTurn`.

        Raises:
            ProviderError: mapped HTTP, connection and protocol failures.
        """
        turn = _TurnBuilder(self.name)
        done = False
        async with post_stream(
            self._client,
            self._url,
            payload=self.payload(request),
            headers=self._headers,
            provider=self.name,
            retry=self._retry,
        ) as body:
            async for event in body.events():
                if event.data.strip() == "[DONE]":
                    done = True
                    break
                for part in turn.add(_chunk(body, event.data)):
                    yield part
        if not done and turn.finish_reason is None:
            raise ProviderConnectionError(f"{self.name}: stream ended early")
        yield turn.build()

    async def aclose(self) -> None:
        """Close the client if this provider owns it."""
        if self._close_client:
            await self._client.aclose()


def _chunk(body: StreamingBody, data: str) -> dict[str, Any]:
    chunk = body.json_data(data)
    error = chunk.get("error")
    if error:
        raise body.error_from_payload(error)
    return chunk


def chat_messages(system_prompt: str, history: Sequence[Message]) -> list[dict[str, Any]]:
    """The history in Chat Completions form; ``ToolStarted`` markers are skipped."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for message in history:
        if isinstance(message, UserMessage):
            messages.append({"role": "user", "content": message.content})
        elif isinstance(message, AssistantMessage):
            messages.append(_assistant(message))
        elif isinstance(message, ToolResult):
            messages.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
    return messages


def _assistant(message: AssistantMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": "assistant", "content": message.content}
    if message.tool_calls:
        # null, not "", is what the API documents for a message that only calls tools.
        entry["content"] = message.content or None
        entry["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in message.tool_calls
        ]
    return entry


def chat_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as Chat Completions ``function`` tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


@dataclass
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _TurnBuilder:
    """Collects the streamed chunks of one turn."""

    provider: str
    content: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    calls: dict[int, _CallParts] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)

    def add(self, chunk: dict[str, Any]) -> Iterator[StreamPart]:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                input_tokens=_int(usage.get("prompt_tokens")),
                output_tokens=_int(usage.get("completion_tokens")),
            )
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            self.thinking.append(thinking)
            yield ThinkingDelta(thinking)
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                self.content.append(text)
                yield TextDelta(text)
        fragments = delta.get("tool_calls")
        if isinstance(fragments, list):
            for fragment in fragments:
                if isinstance(fragment, dict):
                    self._add_fragment(fragment)

    def _add_fragment(self, fragment: dict[str, Any]) -> None:
        index = fragment.get("index")
        call_id = fragment.get("id")
        if not isinstance(index, int):
            index = self._index_for(call_id)
        parts = self.calls.setdefault(index, _CallParts())
        if isinstance(call_id, str) and call_id and not parts.id:
            parts.id = call_id
        function = fragment.get("function")
        if isinstance(function, dict):
            name = function.get("name")
            if isinstance(name, str) and name and not parts.name:
                parts.name = name
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                parts.arguments.append(arguments)

    def _index_for(self, call_id: object) -> int:
        """Where a fragment without ``index`` goes: servers that omit it send each
        call whole (a new id is a new call) or continue the last one."""
        if isinstance(call_id, str) and call_id:
            for index, parts in self.calls.items():
                if parts.id == call_id:
                    return index
            return max(self.calls, default=-1) + 1
        return max(self.calls, default=0)

    def build(self) -> ModelTurn:
        calls: list[ToolCall] = []
        for index in sorted(self.calls):
            parts = self.calls[index]
            if not parts.name:
                raise ProviderProtocolError(f"{self.provider}: tool call #{index} has no name")
            calls.append(
                ToolCall(
                    id=parts.id or f"call_{uuid.uuid4().hex[:24]}",
                    name=parts.name,
                    arguments="".join(parts.arguments) or "{}",
                )
            )
        reason = self.finish_reason or STOP_END_TURN
        stop = _FINISH_REASONS.get(reason, reason)
        if calls and stop == STOP_END_TURN:
            stop = STOP_TOOL_USE  # some servers say "stop" even when they called tools
        message = AssistantMessage(
            content="".join(self.content), thinking="".join(self.thinking), tool_calls=tuple(calls)
        )
        return ModelTurn(message=message, stop_reason=stop, usage=self.usage)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
