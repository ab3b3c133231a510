"""OpenAIChatProvider against the loopback fake (real HTTP, real SSE) and MockTransport."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, ToolStarted, UserMessage
from core.providers.base import ModelRequest, Provider, StreamPart, TextDelta, ToolSpec, Usage
from core.providers.errors import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderError,
    ProviderProtocolError,
    ServerError,
)
from core.providers.openai import OpenAIChatProvider
from tests.fakes.llm_server import FakeLLMServer, Fault, ScriptedToolCall, StatusReply, TurnReply
from tests.unit.providers.support import API_KEY, RecordingSleep, collect, fast_retry

REQUEST = ModelRequest(model="gpt-test", system_prompt="", messages=[UserMessage(content="hi")])


@pytest.fixture
def provider(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        http_client, api_base=llm_server.openai_base, api_key=API_KEY, retry=fast_retry(sleep)
    )


def test_is_a_provider(provider: OpenAIChatProvider) -> None:
    assert isinstance(provider, Provider)
    assert API_KEY not in repr(provider)


async def test_text_streams_in_many_chunks(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="Hello, streaming world!", fragment_size=2))
    result = await collect(provider, REQUEST)
    assert len(result.text_deltas) == 12
    assert "".join(result.text_deltas) == "Hello, streaming world!"
    assert result.turn.message == AssistantMessage(content="Hello, streaming world!")
    assert result.turn.stop_reason == "end_turn"
    assert result.turn.usage == Usage(input_tokens=11, output_tokens=7)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_becomes_thinking(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer, field: str
) -> None:
    llm_server.push(TurnReply(thinking="First, think.", text="Done.", reasoning_field=field))
    result = await collect(provider, REQUEST)
    assert "".join(result.thinking_deltas) == "First, think."
    assert len(result.thinking_deltas) > 1
    assert result.turn.message.thinking == "First, think."
    assert result.turn.message.content == "Done."


async def test_parallel_tool_calls_are_assembled_from_fragments(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    calls = (
        ScriptedToolCall("get_weather", '{"city": "Paris", "unit": "C"}', id="call_a"),
        ScriptedToolCall("get_time", '{"tz": "Europe/Paris"}', id="call_b"),
    )
    llm_server.push(TurnReply(text="Checking.", tool_calls=calls, fragment_size=3))
    result = await collect(provider, REQUEST)
    assert result.turn.stop_reason == "tool_use"
    assert result.turn.message.tool_calls == (
        ToolCall(id="call_a", name="get_weather", arguments='{"city": "Paris", "unit": "C"}'),
        ToolCall(id="call_b", name="get_time", arguments='{"tz": "Europe/Paris"}'),
    )


async def test_tool_call_without_arguments_gets_an_empty_object(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(tool_calls=(ScriptedToolCall("now", ""),)))
    result = await collect(provider, REQUEST)
    assert result.turn.message.tool_calls[0].arguments == "{}"


async def test_request_body_carries_the_converted_history(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    call = ToolCall(id="call_1", name="add", arguments='{"a": 1}')
    history: list[Message] = [
        UserMessage(content="add 1", user="u1"),
        AssistantMessage(content="", thinking="private", tool_calls=(call,)),
        ToolStarted(tool_call_id="call_1"),
        ToolResult(tool_call_id="call_1", name="add", content="2"),
        AssistantMessage(content="It is 2."),
        UserMessage(content="thanks"),
    ]
    tool = ToolSpec("add", "Adds.", {"type": "object", "properties": {"a": {"type": "integer"}}})
    request = ModelRequest(
        model="gpt-test", system_prompt="Be brief.", messages=history, tools=[tool], temperature=0.2
    )
    llm_server.push(TurnReply(text="ok"))
    await collect(provider, request)
    [recorded] = llm_server.requests
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == f"Bearer {API_KEY}"
    assert recorded.body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "add 1"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "2"},
            {"role": "assistant", "content": "It is 2."},
            {"role": "user", "content": "thanks"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 4096,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "add",
                    "description": "Adds.",
                    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
                },
            }
        ],
        "temperature": 0.2,
    }


async def test_no_key_no_authorization_header(
    http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    async with FakeLLMServer(api_key=None) as server:
        server.push(TurnReply(text="local"))
        local = OpenAIChatProvider(
            http_client, name="ollama", api_base=server.openai_base, api_key=None
        )
        result = await collect(local, REQUEST)
    assert result.turn.message.content == "local"
    assert "authorization" not in server.requests[0].headers
    assert "tools" not in server.requests[0].body


def test_official_api_gets_max_completion_tokens(http_client: httpx.AsyncClient) -> None:
    official = OpenAIChatProvider(http_client, api_base="https://api.openai.com/v1", api_key="k")
    payload = official.payload(REQUEST)
    assert payload["max_completion_tokens"] == 4096 and "max_tokens" not in payload


async def test_429_waits_retry_after_then_succeeds(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(StatusReply(429, retry_after="2"), TurnReply(text="after wait"))
    result = await collect(provider, REQUEST)
    assert result.turn.message.content == "after wait"
    assert sleep.delays == [2.0]
    assert len(llm_server.requests) == 2


async def test_500_then_success(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(StatusReply(500), TurnReply(text="recovered"))
    result = await collect(provider, REQUEST)
    assert result.turn.message.content == "recovered"
    assert len(sleep.delays) == 1


async def test_wrong_key_is_an_authentication_error_without_retry(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    wrong = OpenAIChatProvider(
        http_client,
        api_base=llm_server.openai_base,
        api_key="sk-wrong-key-42",
        retry=fast_retry(sleep),
    )
    llm_server.push(TurnReply(text="never"))
    with pytest.raises(AuthenticationError) as caught:
        await collect(wrong, REQUEST)
    assert caught.value.status == 401 and "***" in caught.value.detail
    assert "sk-wrong-key-42" not in str(caught.value) + repr(caught.value)
    assert len(llm_server.requests) == 1 and sleep.delays == []


async def test_disconnect_mid_stream_is_not_retried(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    llm_server.push(TurnReply(text="partial answer", fault=Fault("disconnect", after=3)))
    parts: list[StreamPart] = []
    with pytest.raises(ProviderConnectionError):
        await collect(provider, REQUEST, into=parts)
    assert [p for p in parts if isinstance(p, TextDelta)]  # bytes were streamed first
    assert len(llm_server.requests) == 1 and sleep.delays == []


async def test_disconnect_before_any_body_byte_is_retried(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(
        TurnReply(text="lost", fault=Fault("disconnect", after=0)), TurnReply(text="ok")
    )
    result = await collect(provider, REQUEST)
    assert result.turn.message.content == "ok"
    assert len(llm_server.requests) == 2


async def test_malformed_json_is_a_protocol_error(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="abcdefgh", fault=Fault("malformed", after=2)))
    with pytest.raises(ProviderProtocolError, match="malformed JSON"):
        await collect(provider, REQUEST)


async def test_error_object_in_stream_is_mapped(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    fault = Fault("error", after=2, error_type="server_error", message="The server had an error")
    llm_server.push(TurnReply(text="abcdefgh", fault=fault))
    with pytest.raises(ServerError, match="The server had an error"):
        await collect(provider, REQUEST)


async def test_cancellation_closes_the_stream(
    provider: OpenAIChatProvider, llm_server: FakeLLMServer
) -> None:
    llm_server.push(TurnReply(text="hello", fault=Fault("stall", after=3)))
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


def mock_provider(body: bytes) -> OpenAIChatProvider:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenAIChatProvider(client, api_base="http://mock/v1", api_key="k", close_client=True)


def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n"


async def test_stream_without_done_or_finish_reason_ended_early() -> None:
    provider = mock_provider(chunk({"content": "cut"}))
    with pytest.raises(ProviderConnectionError, match="ended early"):
        await collect(provider, REQUEST)
    await provider.aclose()


async def test_finish_reason_without_done_is_enough() -> None:
    provider = mock_provider(chunk({"content": "long"}) + chunk({}, "length"))
    result = await collect(provider, REQUEST)
    assert result.turn.stop_reason == "max_tokens"
    await provider.aclose()


async def test_fragments_without_index_and_unknown_finish_reason() -> None:
    whole = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
    body = (
        b": comment from a proxy\r\n\r\n"
        + chunk({"tool_calls": [whole]})
        + chunk({"content": "filtered"}, "content_filter")
        + b"data: [DONE]\n\n"
    )
    provider = mock_provider(body)
    result = await collect(provider, REQUEST)
    assert result.turn.message.tool_calls == (ToolCall(id="c1", name="f", arguments='{"x":1}'),)
    assert result.turn.stop_reason == "content_filter"
    await provider.aclose()


async def test_in_stream_error_with_unknown_type_is_a_plain_provider_error() -> None:
    provider = mock_provider(b'data: {"error": {"message": "odd", "type": "weird"}}\n\n')
    with pytest.raises(ProviderError) as caught:
        await collect(provider, REQUEST)
    assert type(caught.value) is ProviderError
    await provider.aclose()
