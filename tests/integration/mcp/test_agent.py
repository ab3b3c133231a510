"""MCP tools through the agent: offered as ``<server>_<tool>``, approved, rejected, failing,
with the published mcp-server-time and the fake FastMCP server (scripted model)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core import Agent, AgentSettings, ApprovalRequest, MemorySessionStore
from core.events import AgentEvent, Response, ToolOutput
from core.hooks import Hook, RunContext
from core.messages import ToolResult
from core.providers.scripted import Script, ScriptedProvider
from facio import Facio
from tests.integration.mcp.support import (
    FAKE,
    TIME_SERVER,
    by_name,
    call,
    children,
    fake,
    gone,
    toolset,
)

RULES: list[dict[str, Any]] = [
    {
        "on": "user",
        "match": r"time in (\S+)",
        "toolCalls": [{"name": "time_get_current_time", "arguments": {"timezone": "\\1"}}],
    },
    {
        "on": "user",
        "match": r"echo (.+)",
        "toolCalls": [{"name": "fake_echo", "arguments": {"text": "\\1"}}],
    },
    {
        "on": "user",
        "match": r"touch (\S+)",
        "toolCalls": [{"name": "fake_touch", "arguments": {"path": "\\1"}}],
    },
    {
        "on": "user",
        "match": r"sleep (\S+)",
        "toolCalls": [{"name": "fake_slow", "arguments": {"seconds": 5}}],
    },
    {
        "on": "user",
        "match": r"pid",
        "toolCalls": [{"name": "fake_pid", "arguments": {}}],
    },
    {"on": "tool", "match": "(?s)(.*)", "text": "tool said: \\1"},
]


def _script() -> Script:
    return Script.model_validate({"rules": RULES, "fallback": "?", "chunkSize": 64})


async def _events(stream: AsyncIterator[AgentEvent], approve: bool) -> list[AgentEvent]:
    events: list[AgentEvent] = []
    async for event in stream:
        events.append(event)
        if isinstance(event, ApprovalRequest):
            event.approve(approve)
    return events


async def test_published_time_server_answers_through_the_agent(tmp_path: Path) -> None:
    from core.config.models_servers import McpServerConfig

    mcp = toolset(tmp_path, time=McpServerConfig(command=TIME_SERVER))
    agent = Agent(
        ScriptedProvider(_script()),
        settings=AgentSettings(model="m", approval_timeout=5),
        store=MemorySessionStore(),
        toolsets=[mcp],
        workspace=tmp_path,
    )
    try:
        async with agent:
            assert "time_get_current_time" in agent.tools
            events = await _events(agent.stream("what is the time in Europe/Berlin"), True)
        request = next(e for e in events if isinstance(e, ApprovalRequest))
        assert request.tool_name == "time_get_current_time"
        assert request.tool_args == {"timezone": "Europe/Berlin"}
        output = next(e for e in events if isinstance(e, ToolOutput))
        assert not output.is_error
        answer = json.loads(output.content)
        assert answer["timezone"] == "Europe/Berlin"
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", answer["datetime"])
        assert events[-1] == Response(content=f"tool said: {output.content}")
        offered = agent.provider.requests[0].tools  # type: ignore[attr-defined]
        spec = next(s for s in offered if s.name == "time_get_current_time")
        assert spec.parameters["required"] == ["timezone"]
        [pid] = children("mcp-server-time")
    finally:
        await mcp.aclose()
    assert gone(pid)


async def test_rejected_call_never_reaches_the_server(tmp_path: Path) -> None:
    target = tmp_path / "touched.txt"
    mcp = toolset(tmp_path, fake=fake())
    agent = Agent(
        ScriptedProvider(_script()),
        settings=AgentSettings(model="m", approval_timeout=5),
        store=MemorySessionStore(),
        toolsets=[mcp],
    )
    try:
        async with agent:
            events = await _events(agent.stream(f"touch {target}"), False)
            assert [e.tool_name for e in events if isinstance(e, ApprovalRequest)] == ["fake_touch"]
            assert events[-1].content.startswith("Rejected: I did not run fake_touch")  # type: ignore[union-attr]
            assert not target.exists()
            events = await _events(agent.stream(f"touch {target}"), True)
            assert target.exists()
            assert events[-1].content == f"tool said: touched {target}"  # type: ignore[union-attr]
    finally:
        await mcp.aclose()


async def test_a_failing_call_reaches_the_model_without_the_servers_paths(tmp_path: Path) -> None:
    """The server's error names a file in the workspace by its absolute path: the model
    (and whoever reads the stream) sees it relative to the workspace."""
    workspace = tmp_path / "srv" / "ws"
    workspace.mkdir(parents=True)
    mcp = toolset(workspace, fake=fake())
    agent = Agent(
        ScriptedProvider(_script()),
        settings=AgentSettings(model="m", approval_timeout=5),
        store=MemorySessionStore(),
        workspace=workspace,
        toolsets=[mcp],
    )
    try:
        async with agent:
            events = await _events(agent.stream(f"touch {workspace}/nowhere/x.txt"), True)
    finally:
        await mcp.aclose()
    (output,) = [e for e in events if isinstance(e, ToolOutput)]
    assert output.is_error
    assert "No such file or directory: 'nowhere/x.txt'" in output.content
    assert events[-1].content == f"tool said: {output.content}"  # type: ignore[union-attr]
    (result,) = [m for m in agent.history if isinstance(m, ToolResult)]  # what the model read
    assert result.content == output.content and str(tmp_path) not in result.content


async def test_a_cancelled_turn_leaves_the_session_usable(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    agent = Agent(
        ScriptedProvider(_script()),
        settings=AgentSettings(model="m", approval_timeout=5),
        store=MemorySessionStore(),
        toolsets=[mcp],
    )
    try:
        async with agent:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(_events(agent.stream("sleep 5"), True), 1.5)
            events = await _events(agent.stream("echo after the cancel"), True)
            assert events[-1].content == "tool said: after the cancel"  # type: ignore[union-attr]
    finally:
        await mcp.aclose()


async def test_timeout_and_a_dead_server_are_tool_errors_for_the_model(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake(timeout=1))
    agent = Agent(
        ScriptedProvider(_script()),
        settings=AgentSettings(model="m", approval_timeout=5),
        store=MemorySessionStore(),
        toolsets=[mcp],
    )

    async def output(prompt: str) -> ToolOutput:
        events = await _events(agent.stream(prompt), True)
        return next(e for e in events if isinstance(e, ToolOutput))

    try:
        async with agent:
            slow = await output("sleep 5")
            assert slow.is_error and "slow timed out after 1 s" in slow.content
            pid = int((await output("pid")).content)
            os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.2)
            lost = await output("echo anyone there")
            assert lost.is_error
            assert lost.content.startswith("MCP server fake is not running: ")
            back = await output("echo back again")
            assert (back.is_error, back.content) == (False, "back again")
            assert agent.history[-1].content == "tool said: back again"  # type: ignore[union-attr]
    finally:
        await mcp.aclose()


class ApproveEcho(Hook):
    """Approves fake_echo, has no opinion on anything else (deny by default)."""

    async def on_approval_request(self, ctx: RunContext, request: ApprovalRequest) -> bool | None:
        return True if request.tool_name == "fake_echo" else None


def _facio_config(tmp_path: Path, **extra: Any) -> Path:
    (tmp_path / "script.json").write_text(json.dumps({"rules": RULES, "fallback": "?"}))
    config = {
        "workspace": "ws",
        "bots": {"main": {"model": "scripted:script.json", "tools": ["current_time"], **extra}},
        "mcpServers": {
            "fake": {"command": sys.executable, "args": [FAKE], "timeout": 30},
            "broken": {"command": "facio-no-such-mcp-server"},
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


async def test_facio_run_with_hooks_and_a_broken_server(tmp_path: Path) -> None:
    target = tmp_path / "never.txt"
    async with Facio.from_config(_facio_config(tmp_path)) as bot:
        result = await bot.run("echo hello there", session_key="me", hooks=[ApproveEcho()])
        assert result.content == "tool said: hello there"
        assert result.tools_used == ["fake_echo"]
        denied = await bot.run(f"touch {target}", session_key="me", hooks=[ApproveEcho()])
        assert denied.rejected == ["fake_touch"] and not target.exists()
        async with bot.agent("me") as agent:
            names = set(agent.tools.names())
        assert "current_time" in names and "fake_echo" in names
        assert not [n for n in names if n.startswith("broken_")]
        [pid] = children(FAKE)
    assert gone(pid)  # Facio.aclose stopped the server


async def test_permission_rules_allow_mcp_tools_by_glob(tmp_path: Path) -> None:
    async with Facio.from_config(_facio_config(tmp_path, allow=["fake_*"])) as bot:
        result = await bot.run("pid", session_key="me")
        assert result.tools_used == ["fake_pid"] and result.rejected == []
        pid = int(result.content.removeprefix("tool said: "))
        assert not gone(pid)


async def test_toolset_tools_and_agent_share_one_connection(tmp_path: Path) -> None:
    mcp = toolset(tmp_path, fake=fake())
    try:
        first = int(await call(by_name(await mcp.tools()), "fake_pid", tmp_path))
        agent = Agent(
            ScriptedProvider(_script()),
            settings=AgentSettings(model="m"),
            store=MemorySessionStore(),
            toolsets=[mcp],
        )
        async with agent:
            events = await _events(agent.stream("pid"), True)
        assert events[-1].content == f"tool said: {first}"  # type: ignore[union-attr]
    finally:
        await mcp.aclose()
