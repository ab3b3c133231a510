"""AnthropicProvider against the loopback fake (real HTTP, real SSE) and MockTransport."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, ToolStarted, UserMessage
from core.providers.anthropic import AnthropicProvider
from core.providers.base import ModelRequest, Provider, StreamPart, TextDelta, ToolSpec, Usage
from core.providers.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderProtocolError,
    ServerError,
)
from tests.fakes.llm_server import FakeLLMServer, Fault, ScriptedToolCall, StatusReply, TurnReply
from tests.unit.providers.support import API_KEY, RecordingSleep, collect, fast_retry

REQUEST = ModelRequest(model="claude-test", system_prompt="", messages=[UserMessage(content="hi")])


def make(
    server: FakeLLMServer,
    client: httpx.AsyncClient,
    sleep: RecordingSleep,
    *,
    key: str = API_KEY,
    thinking_budget: int | None = None,
) -> AnthropicProvider:
    return AnthropicProvider(
        client,
        api_base=server.anthropic_base,
        api_key=key,
        retry=fast_retry(sleep),
        thinking_budget=thinking_budget,
    )


@pytest.fixture
def provider(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> AnthropicProvider:
    return make(llm_server, http_client, sleep)


def test_is_a_provider(provider: AnthropicProvider) -> None:
    assert isinstance(provider, Provider)
    assert API_KEY not in repr(provider)


async def test_text_streams_in_many_chunks(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="Hello from Claude.", fragment_size=3, input_tokens=42))
    result = await collect(provider, REQUEST)
    assert len(result.text_deltas) == 6
    assert result.turn.message == AssistantMessage(content="Hello from Claude.")
    assert result.turn.stop_reason == "end_turn"
    assert result.turn.usage == Usage(input_tokens=42, output_tokens=7)


async def test_thinking_and_signature(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(thinking="Let me see...", text="Yes.", signature="EqQBCkgIAR"))
    result = await collect(provider, REQUEST)
    assert "".join(result.thinking_deltas) == "Let me see..."
    assert len(result.thinking_deltas) > 1
    message = result.turn.message
    assert (message.thinking, message.thinking_signature) == ("Let me see...", "EqQBCkgIAR")
    assert message.content == "Yes."


async def test_tool_use_input_is_assembled_from_partial_json(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    calls = (
        ScriptedToolCall("search", '{"query": "sse spec", "limit": 5}', id="toolu_1"),
        ScriptedToolCall("clock", "", id="toolu_2"),
    )
    llm_server.push(TurnReply(text="Searching.", tool_calls=calls, fragment_size=2))
    result = await collect(provider, REQUEST)
    assert result.turn.stop_reason == "tool_use"
    assert result.turn.message.tool_calls == (
        ToolCall(id="toolu_1", name="search", arguments='{"query": "sse spec", "limit": 5}'),
        ToolCall(id="toolu_2", name="clock", arguments="{}"),
    )


async def test_request_body_carries_the_converted_history(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    first = ToolCall(id="toolu_1", name="add", arguments='{"a": 1}')
    second = ToolCall(id="toolu_2", name="fail", arguments="not json")
    history: list[Message] = [
        UserMessage(content="add and fail"),
        AssistantMessage(
            content="On it.",
            thinking="plan",
            thinking_signature="sig-1",
            tool_calls=(first, second),
        ),
        ToolStarted(tool_call_id="toolu_1"),
        ToolResult(tool_call_id="toolu_1", name="add", content="2"),
        ToolStarted(tool_call_id="toolu_2"),
        ToolResult(tool_call_id="toolu_2", name="fail", content="boom", is_error=True),
        UserMessage(content="and now?"),
    ]
    tool = ToolSpec("add", "Adds.", {"type": "object"})
    request = ModelRequest(
        model="claude-test", system_prompt="Be brief.", messages=history, tools=[tool]
    )
    llm_server.push(TurnReply(text="ok"))
    await collect(provider, request)
    [recorded] = llm_server.requests
    assert recorded.path == "/v1/messages"
    assert recorded.headers["x-api-key"] == API_KEY
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in recorded.headers
    assert recorded.body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "stream": True,
        "system": "Be brief.",
        "tools": [{"name": "add", "description": "Adds.", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "add and fail"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "plan", "signature": "sig-1"},
                    {"type": "text", "text": "On it."},
                    {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 1}},
                    {"type": "tool_use", "id": "toolu_2", "name": "fail", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "2",
                        "is_error": False,
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": "boom",
                        "is_error": True,
                    },
                    {"type": "text", "text": "and now?"},
                ],
            },
        ],
    }


async def test_thinking_budget_is_requested(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    thinker = make(llm_server, http_client, sleep, thinking_budget=8000)
    llm_server.push(TurnReply(text="ok"))
    request = ModelRequest(
        model="claude-test", system_prompt="", messages=REQUEST.messages, temperature=0.3
    )
    await collect(thinker, request)
    body = llm_server.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert body["max_tokens"] == 8000 + 4096
    assert "temperature" not in body and "system" not in body and "tools" not in body


async def test_429_waits_retry_after_then_succeeds(
    provider: AnthropicProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(StatusReply(429, retry_after="3"), TurnReply(text="after wait"))
    result = await collect(provider, REQUEST)
    assert result.turn.message.content == "after wait"
    assert sleep.delays == [3.0]


async def test_500_and_529_then_success(
    provider: AnthropicProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(StatusReply(500), StatusReply(529), TurnReply(text="recovered"))
    result = await collect(provider, REQUEST)
    assert result.turn.message.content == "recovered"
    assert len(sleep.delays) == 2 and len(llm_server.requests) == 3


async def test_wrong_key_is_an_authentication_error_without_retry(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    llm_server.push(TurnReply(text="never"))
    with pytest.raises(AuthenticationError) as caught:
        await collect(make(llm_server, http_client, sleep, key="wrong-key"), REQUEST)
    assert caught.value.detail == "authentication_error: invalid x-api-key"
    assert len(llm_server.requests) == 1 and sleep.delays == []


async def test_disconnect_mid_stream_is_not_retried(
    provider: AnthropicProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(TurnReply(text="partial answer", fault=Fault("disconnect", after=5)))
    parts: list[StreamPart] = []
    with pytest.raises(ProviderConnectionError):
        await collect(provider, REQUEST, into=parts)
    assert [p for p in parts if isinstance(p, TextDelta)]
    assert len(llm_server.requests) == 1 and sleep.delays == []


async def test_malformed_json_is_a_protocol_error(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="abcdefgh", fault=Fault("malformed", after=4)))
    with pytest.raises(ProviderProtocolError, match="malformed JSON"):
        await collect(provider, REQUEST)


async def test_overloaded_error_event_is_a_server_error(
    provider: AnthropicProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(TurnReply(text="abcdefgh", fault=Fault("error", after=4)))
    with pytest.raises(ServerError) as caught:
        await collect(provider, REQUEST)
    assert caught.value.status == 529 and caught.value.retryable
    assert len(llm_server.requests) == 1  # streamed already: the caller decides


async def test_cancellation_closes_the_stream(
    provider: AnthropicProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="hello", fault=Fault("stall", after=4)))
    first = asyncio.Event()

    async def consume() -> None:
        async for part in provider.stream(REQUEST):
            if isinstance(part, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(llm_server.client_gone.wait(), 2)


def event(payload: dict[str, object]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def mock_provider(body: bytes) -> AnthropicProvider:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AnthropicProvider(client, api_base="http://mock", api_key="k", close_client=True)


START = event({"type": "message_start", "message": {"usage": {"input_tokens": 5}}})
TEXT = event(
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
) + event(
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
)


async def test_missing_message_stop_is_a_connection_error() -> None:
    provider = mock_provider(START + TEXT)
    with pytest.raises(ProviderConnectionError, match="message_stop"):
        await collect(provider, REQUEST)
    await provider.aclose()


async def test_unknown_events_and_blocks_are_ignored() -> None:
    server_tool = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search"}
    body = (
        START
        + event({"type": "ping"})
        + event({"type": "future_event", "whatever": 1})
        + TEXT
        + event({"type": "content_block_stop", "index": 0})
        + event({"type": "content_block_start", "index": 1, "content_block": server_tool})
        + event(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "{}"},
            }
        )
        + event({"type": "message_delta", "delta": {"stop_reason": "stop_sequence"}})
        + event({"type": "message_stop"})
    )
    provider = mock_provider(body)
    result = await collect(provider, REQUEST)
    assert result.turn.message == AssistantMessage(content="hi")
    assert result.turn.stop_reason == "stop_sequence"
    assert result.turn.usage.input_tokens == 5
    await provider.aclose()
