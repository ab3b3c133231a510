"""The seed examples, run as written, against three models: the scripted demo
and the loopback OpenAI-compatible and Anthropic-compatible servers (real HTTP,
real SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.tools.builtin.notes import notes_file
from facio import (
    ApprovalRequest,
    Facio,
    Hook,
    PermissionManager,
    Response,
    ResponseChunk,
    RunContext,
    ToolOutput,
)
from tests.fakes.llm_server import FakeLLMServer, ScriptedToolCall, TurnReply

PROMPT = "remember to buy milk"


@dataclass
class Backend:
    name: str
    server: FakeLLMServer | None

    def queue_note_turn(self) -> None:
        """The model asks to save a note, then (if it gets a result) confirms."""
        if self.server is None:
            return
        self.server.push(
            TurnReply(
                text="I'll save that as a note.",
                tool_calls=(ScriptedToolCall("save_note", json.dumps({"text": "to buy milk"})),),
            ),
            TurnReply(text='Done, I saved the note "to buy milk".'),
        )

    def model_calls(self) -> int:
        return len(self.server.requests) if self.server else -1


def _config(tmp_path: Path, backend: str, server: FakeLLMServer | None) -> Path:
    tools = ["current_time", "save_note", "list_notes"]
    if server is None:
        data: dict[str, Any] = {"bots": {"main": {"preset": "demo"}}}
    else:
        base = server.openai_base if backend == "openai" else server.anthropic_base
        data = {
            "agent": {"model": f"{backend}:test-model"},
            "providers": {backend: {"apiKey": "test-key", "apiBase": base, "maxRetries": 0}},
            "bots": {"main": {"preset": "assistant", "tools": tools}},
        }
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"workspace": "ws", **data}))
    return path


@pytest.fixture(params=["scripted", "openai", "anthropic"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "scripted":
        yield Backend("scripted", None)
        return
    async with FakeLLMServer(api_key="test-key") as server:
        yield Backend(request.param, server)


@pytest.fixture
async def bot(backend: Backend, tmp_path: Path) -> AsyncIterator[Facio]:
    facio = Facio.from_config(_config(tmp_path, backend.name, backend.server))
    yield facio
    await facio.aclose()


def _note_file(bot: Facio, session: str) -> Path:
    return notes_file(bot.workspace, session)


async def test_run_denies_by_default_and_says_so(bot: Facio, backend: Backend) -> None:
    backend.queue_note_turn()
    result = await bot.run(PROMPT, session_key="me")
    assert result.rejected == ["save_note"]
    assert result.tools_used == []
    assert "Rejected" in result.content and "save_note" in result.content
    assert not _note_file(bot, "me").exists()
    if backend.server is not None:
        assert backend.model_calls() == 1  # a rejection ends the turn


class ApproveNotes(Hook):
    async def on_approval_request(self, ctx: RunContext, request: ApprovalRequest) -> bool | None:
        return True if request.tool_name == "save_note" else None


async def test_run_with_an_approving_hook(bot: Facio, backend: Backend) -> None:
    backend.queue_note_turn()
    result = await bot.run(PROMPT, session_key="me", hooks=[ApproveNotes()])
    assert result.tools_used == ["save_note"]
    assert result.rejected == []
    assert result.content.startswith('Done, I saved the note "to buy milk"')
    assert "buy milk" in _note_file(bot, "me").read_text()
    roles = [m.role for m in result.messages]
    assert roles == ["user", "assistant", "tool_started", "tool", "assistant"]
    if backend.server is not None:
        second = backend.server.requests[1].body
        text = json.dumps(second)
        assert "Saved note: to buy milk" in text  # the tool result went back to the model


async def test_agent_stream_approval_loop(bot: Facio, backend: Backend) -> None:
    backend.queue_note_turn()
    seen: list[tuple[str, dict[str, Any]]] = []
    answer, streamed = "", ""
    async with bot.agent("loop") as agent:
        async for event in agent.stream(PROMPT):
            match event:
                case ApprovalRequest() as request:
                    seen.append((request.tool_name, request.tool_args))
                    request.approve(True)
                case ResponseChunk(content=chunk):
                    streamed += chunk
                case Response(content=content):
                    answer = content
    assert seen == [("save_note", {"text": "to buy milk"})]
    assert answer.startswith('Done, I saved the note "to buy milk"')
    assert streamed.endswith(answer)
    assert _note_file(bot, "loop").exists()


async def test_permission_manager_loop(bot: Facio, backend: Backend) -> None:
    manager = PermissionManager(bot.workspace)
    await manager.load()
    asked: list[str] = []
    for _ in range(2):
        backend.queue_note_turn()
        async with bot.agent("perm") as agent:
            async for event in agent.stream(PROMPT):
                if isinstance(event, ApprovalRequest):
                    if manager.is_allowed(event.tool_name, event.tool_args):
                        event.approve(True)
                    else:
                        asked.append(event.tool_name)
                        await manager.allow_always(event.tool_name)  # the person typed "a"
                        event.approve(True)
    assert asked == ["save_note"]  # the second time no one was asked
    stored = json.loads((bot.workspace / ".facio" / "permissions.json").read_text())
    assert stored == {"allow": ["save_note"]}
    assert _note_file(bot, "perm").read_text().count("buy milk") == 2


async def test_session_keys_keep_separate_histories(bot: Facio, backend: Backend) -> None:
    backend.queue_note_turn()
    backend.queue_note_turn()
    first = await bot.run(PROMPT, session_key="alice", hooks=[ApproveNotes()])
    second = await bot.run(PROMPT, session_key="bob", hooks=[ApproveNotes()])
    assert first.tools_used == second.tools_used == ["save_note"]
    alice = await bot.sessions.load("alice")
    bob = await bot.sessions.load("bob")
    assert len(alice) == len(bob) == 5
    assert {m.role for m in alice} == {"user", "assistant", "tool_started", "tool"}
    if backend.server is not None:
        # bob's first request carried only bob's message, nothing of alice's
        bob_request = json.dumps(backend.server.requests[2].body)
        assert bob_request.count("remember to buy milk") == 1


async def test_tool_outputs_are_events(bot: Facio, backend: Backend) -> None:
    backend.queue_note_turn()
    outputs: list[ToolOutput] = []
    async with bot.agent("events") as agent:
        async for event in agent.stream(PROMPT):
            if isinstance(event, ApprovalRequest):
                event.approve(True)
            elif isinstance(event, ToolOutput):
                outputs.append(event)
    assert [(o.tool_name, o.is_error, o.agent_id) for o in outputs] == [
        ("save_note", False, "main")
    ]
