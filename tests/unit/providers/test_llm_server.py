"""The fake LLM server itself: its wire format, its script format and its CLI."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest

from core.messages import UserMessage
from core.providers.base import ModelRequest
from core.providers.errors import BadRequestError
from core.providers.openai import OpenAIChatProvider
from tests.fakes.llm_script import StatusReply, replies_from_json, reply_from_json
from tests.fakes.llm_server import FakeLLMServer, ScriptedToolCall, TurnReply
from tests.unit.providers.support import API_KEY, collect

ROOT = Path(__file__).resolve().parents[3]
REQUEST = ModelRequest(model="m", system_prompt="", messages=[UserMessage(content="ping?")])


async def raw_events(
    client: httpx.AsyncClient, url: str, body: dict[str, object], headers: dict[str, str]
) -> list[str]:
    response = await client.post(url, json=body, headers=headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    return [frame for frame in response.text.split("\n\n") if frame]


async def test_openai_wire_format(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient
) -> None:
    calls = (ScriptedToolCall("f", '{"a": 12345}'), ScriptedToolCall("g", "{}"))
    llm_server.push(TurnReply(text="hey", tool_calls=calls, fragment_size=4))
    frames = await raw_events(
        http_client,
        f"{llm_server.openai_base}/chat/completions",
        {"model": "m", "messages": [], "stream": True},
        {"authorization": f"Bearer {API_KEY}"},
    )
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(frame.removeprefix("data: ")) for frame in frames[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    fragments = [
        tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])
    ]
    first_of_f = [f for f in fragments if f["index"] == 0]
    assert first_of_f[0]["id"] and first_of_f[0]["function"]["name"] == "f"
    assert all("id" not in f and "name" not in f["function"] for f in first_of_f[1:])
    assert len(first_of_f) > 2  # the arguments came in several pieces
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 11


async def test_anthropic_wire_format(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient
) -> None:
    llm_server.push(TurnReply(text="hi", thinking="hm", tool_calls=(ScriptedToolCall("f"),)))
    frames = await raw_events(
        http_client,
        f"{llm_server.anthropic_base}/v1/messages",
        {"model": "m", "messages": [], "max_tokens": 10, "stream": True},
        {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    types = [frame.split("\n")[0].removeprefix("event: ") for frame in frames]
    assert types[:3] == ["message_start", "ping", "content_block_start"]
    assert types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == types.count("content_block_stop") == 3
    for frame in frames:
        name, data = frame.split("\n")
        assert json.loads(data.removeprefix("data: "))["type"] == name.removeprefix("event: ")


async def test_missing_anthropic_version_is_refused(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient
) -> None:
    response = await http_client.post(
        f"{llm_server.anthropic_base}/v1/messages",
        json={"model": "m", "messages": [], "max_tokens": 1, "stream": True},
        headers={"x-api-key": API_KEY},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_empty_queue_is_a_clear_error(
    llm_server: FakeLLMServer, http_client: httpx.AsyncClient
) -> None:
    provider = OpenAIChatProvider(http_client, api_base=llm_server.openai_base, api_key=API_KEY)
    with pytest.raises(BadRequestError, match="no scripted reply left"):
        await collect(provider, REQUEST)


async def test_echo_mode(http_client: httpx.AsyncClient) -> None:
    async with FakeLLMServer(api_key=None, when_empty="echo") as server:
        provider = OpenAIChatProvider(http_client, api_base=server.openai_base, api_key=None)
        result = await collect(provider, REQUEST)
    assert result.turn.message.content == "echo: ping?"


def test_script_json_form() -> None:
    replies = replies_from_json(
        {
            "replies": [
                {"text": "a", "tool_calls": [{"name": "f", "arguments": {"x": 1}}]},
                {"status": 429, "retry_after": 2, "body": {"error": "slow"}},
                {"text": "b", "fault": {"kind": "disconnect", "after": 1}},
            ]
        }
    )
    assert replies[0] == TurnReply(text="a", tool_calls=(ScriptedToolCall("f", '{"x": 1}'),))
    assert replies[1] == StatusReply(429, body='{"error": "slow"}', retry_after="2")
    assert isinstance(replies[2], TurnReply) and replies[2].fault is not None
    with pytest.raises(ValueError, match="unknown reply keys"):
        reply_from_json({"txt": "typo"})


async def test_standalone_process(tmp_path: Path, http_client: httpx.AsyncClient) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "from the script"}]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.llm_server",
        "--port",
        "0",
        "--script",
        str(script),
        "--api-key",
        "proc-key",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        addresses = json.loads(await asyncio.wait_for(process.stdout.readline(), 10))
        provider = OpenAIChatProvider(
            http_client, api_base=addresses["openai_base"], api_key="proc-key"
        )
        first = await collect(provider, REQUEST)
        assert first.turn.message.content == "from the script"
        queued = await http_client.post(
            f"{addresses['url']}/_fake/replies", json=[{"text": "more"}]
        )
        assert queued.json() == {"queued": 1, "pending": 1}
        second = await collect(provider, REQUEST)
        assert second.turn.message.content == "more"
        recorded = (await http_client.get(f"{addresses['url']}/_fake/requests")).json()
        assert [r["path"] for r in recorded] == ["/v1/chat/completions"] * 2
        assert recorded[0]["body"]["messages"] == [{"role": "user", "content": "ping?"}]
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
