"""The Anthropic Messages API provider.

One streamed ``POST {api_base}/v1/messages`` per model turn. The stream is a
sequence of typed events: ``message_start``, then per content block
``content_block_start`` / ``content_block_delta``… / ``content_block_stop``,
then ``message_delta`` (stop reason, output tokens) and ``message_stop``;
``ping`` may come at any time. Event types this module does not know are
ignored, as Anthropic asks of clients, so new event kinds do not break us.

History conversion follows the API's rules: the thinking block (with its
signature) goes back first in an assistant message, tool results are
``tool_result`` blocks inside a *user* message, and consecutive user-side
entries are merged into one message.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage
from core.providers.base import (
    STOP_END_TURN,
    ModelRequest,
    ModelTurn,
    StreamPart,
    TextDelta,
    ThinkingDelta,
    ToolSpec,
    Usage,
)
from core.providers.errors import ProviderConnectionError, ProviderProtocolError
from core.providers.http import post_stream
from core.providers.retry import RetryPolicy

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider", "anthropic_messages", "anthropic_tools"]

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
    """Streams turns from the Anthropic Messages API.

    Args:
        client: the HTTP client (its timeouts, proxies and limits apply).
        name: the provider name used in errors and logs.
        api_base: the base URL without ``/v1``.
        api_key: sent as ``x-api-key``; None for a proxy that adds it.
        headers: extra headers (``anthropic-beta``, …).
        retry: the retry policy; the default retries 3 times.
        thinking_budget: enables extended thinking with this many tokens.
        close_client: whether :meth:`aclose` closes ``client``.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        name: str = "anthropic",
        api_base: str = "https://api.anthropic.com",
        api_key: str | None,
        headers: dict[str, str] | None = None,
        retry: RetryPolicy | None = None,
        thinking_budget: int | None = None,
        close_client: bool = False,
    ) -> None:
        self.name = name
        self._client = client
        self._url = api_base.rstrip("/") + "/v1/messages"
        self._headers = {
            "accept": "text/event-stream",
            "anthropic-version": ANTHROPIC_VERSION,
            **(headers or {}),
        }
        if api_key:
            self._headers["x-api-key"] = api_key
        self._retry = retry
        self._thinking_budget = thinking_budget
        self._close_client = close_client

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, url={self._url!r})"

    def payload(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body for ``request``.

        With thinking on, ``temperature`` is left out (the API refuses both)
        and ``max_tokens`` must exceed the budget: when it does not, the
        budget is added to it so the answer keeps its own allowance.
        """
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": anthropic_messages(request.messages),
            "stream": True,
        }
        if request.system_prompt:
            body["system"] = request.system_prompt
        if request.tools:
            body["tools"] = anthropic_tools(request.tools)
        budget = self._thinking_budget
        if budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            if request.max_tokens <= budget:
                body["max_tokens"] = budget + request.max_tokens
        elif request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamPart]:
        """Stream one turn: text and thinking deltas, then one :class:`ModelTurn`.

        Raises:
            ProviderError: mapped HTTP, connection and protocol failures,
                including an ``error`` event inside the stream.
        """
        turn = _TurnBuilder(self.name)
        async with post_stream(
            self._client,
            self._url,
            payload=self.payload(request),
            headers=self._headers,
            provider=self.name,
            retry=self._retry,
        ) as body:
            async for event in body.events():
                data = body.json_data(event.data)
                kind = data.get("type", event.event)
                if kind == "error":
                    raise body.error_from_payload(data.get("error"))
                part = turn.handle(kind, data)
                if part is not None:
                    yield part
                if turn.stopped:
                    break
        if not turn.stopped:
            raise ProviderConnectionError(f"{self.name}: stream ended before message_stop")
        yield turn.build()

    async def aclose(self) -> None:
        """Close the client if this provider owns it."""
        if self._close_client:
            await self._client.aclose()


def anthropic_messages(history: Sequence[Message]) -> list[dict[str, Any]]:
    """The history as Messages API turns; ``ToolStarted`` markers are skipped.

    Consecutive user-side entries (tool results, then perhaps the person's next
    message) become one user message: the API wants every tool result right
    after the assistant turn that asked for it.
    """
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return  # the API refuses empty content
        if messages and messages[-1]["role"] == role == "user":
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})

    for message in history:
        if isinstance(message, UserMessage):
            add("user", [{"type": "text", "text": message.content}] if message.content else [])
        elif isinstance(message, ToolResult):
            add("user", [_tool_result(message)])
        elif isinstance(message, AssistantMessage):
            add("assistant", _assistant_blocks(message))
    return messages


def _tool_result(result: ToolResult) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": result.tool_call_id,
        "content": result.content,
        "is_error": result.is_error,
    }


def _assistant_blocks(message: AssistantMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.thinking_signature:
        blocks.append(
            {
                "type": "thinking",
                "thinking": message.thinking,
                "signature": message.thinking_signature,
            }
        )
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)})
    return blocks


def _input(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as the object ``tool_use.input`` must be.

    Arguments that are not a JSON object were already refused to the model
    when the tool ran; "{}" keeps the history sendable.
    """
    try:
        return call.parsed_arguments()
    except ValueError:
        return {}


def anthropic_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as Messages API tools."""
    return [
        {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
        for tool in tools
    ]


@dataclass
class _Block:
    kind: str
    text: list[str] = field(default_factory=list)
    tool_id: str = ""
    tool_name: str = ""
    initial_input: object = None


@dataclass
class _TurnBuilder:
    """Collects the events of one streamed message."""

    provider: str
    blocks: dict[int, _Block] = field(default_factory=dict)
    signature: str | None = None
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    stopped: bool = False

    def handle(self, kind: object, data: dict[str, Any]) -> StreamPart | None:
        """Take one event; return the delta it carries, if any."""
        match kind:
            case "message_start":
                message = data.get("message")
                usage = message.get("usage") if isinstance(message, dict) else None
                self._usage(usage)
            case "content_block_start":
                return self._block_start(data)
            case "content_block_delta":
                return self._block_delta(data)
            case "message_delta":
                delta = data.get("delta")
                if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                    self.stop_reason = delta["stop_reason"]
                self._usage(data.get("usage"))
            case "message_stop":
                self.stopped = True
            case _:
                pass  # ping, content_block_stop and event types added after this code
        return None

    def _usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        # Cached prompt tokens are counted apart from input_tokens; the sum is the prompt.
        keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        if any(isinstance(usage.get(key), int) for key in keys):
            self.input_tokens = sum(_int(usage.get(key)) for key in keys)
        if isinstance(usage.get("output_tokens"), int):
            self.output_tokens = usage["output_tokens"]

    def _block_start(self, data: dict[str, Any]) -> StreamPart | None:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            raise ProviderProtocolError(f"{self.provider}: malformed content_block_start")
        kind = str(block.get("type", ""))
        entry = _Block(kind)
        if kind == "tool_use":
            entry.tool_id = str(block.get("id", ""))
            entry.tool_name = str(block.get("name", ""))
            entry.initial_input = block.get("input")
        self.blocks[index] = entry
        initial = block.get(kind) if kind in ("text", "thinking") else None
        if isinstance(initial, str) and initial:  # the API starts blocks empty; just in case
            entry.text.append(initial)
            return TextDelta(initial) if kind == "text" else ThinkingDelta(initial)
        return None

    def _block_delta(self, data: dict[str, Any]) -> StreamPart | None:
        delta = data.get("delta")
        index = data.get("index")
        block = self.blocks.get(index) if isinstance(index, int) else None
        if not isinstance(delta, dict) or block is None:
            return None  # a delta of a block type we do not collect (or out of order)
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            block.text.append(delta["text"])
            return TextDelta(delta["text"]) if delta["text"] else None
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            block.text.append(delta["thinking"])
            return ThinkingDelta(delta["thinking"]) if delta["thinking"] else None
        if kind == "signature_delta" and isinstance(delta.get("signature"), str):
            self.signature = delta["signature"]
        elif kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            block.text.append(delta["partial_json"])
        return None

    def build(self) -> ModelTurn:
        text: list[str] = []
        thinking: list[str] = []
        calls: list[ToolCall] = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block.kind == "text":
                text.extend(block.text)
            elif block.kind == "thinking":
                thinking.extend(block.text)
            elif block.kind == "tool_use":
                calls.append(self._tool_call(block))
        message = AssistantMessage(
            content="".join(text),
            thinking="".join(thinking),
            thinking_signature=self.signature,
            tool_calls=tuple(calls),
        )
        usage = Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        return ModelTurn(
            message=message, stop_reason=self.stop_reason or STOP_END_TURN, usage=usage
        )

    def _tool_call(self, block: _Block) -> ToolCall:
        if not block.tool_id or not block.tool_name:
            raise ProviderProtocolError(f"{self.provider}: tool_use block without id or name")
        arguments = "".join(block.text)
        if not arguments and isinstance(block.initial_input, dict) and block.initial_input:
            arguments = json.dumps(block.initial_input)
        return ToolCall(id=block.tool_id, name=block.tool_name, arguments=arguments or "{}")


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
