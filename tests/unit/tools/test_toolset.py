"""Toolsets add their tools when an agent starts; the agent never closes them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bots.toolbox import resolve_tools
from core import Agent, AgentSettings, MemorySessionStore, Tool
from core.code import CodeToolset
from core.config import parse_config
from core.errors import ConfigError
from core.mcp import McpToolset
from core.providers.scripted import ScriptedProvider
from tests.unit.agent.helpers import collect, script


class Counting:
    def __init__(self) -> None:
        self.setups = 0
        self.closed = 0

        def ping() -> str:
            """Answer pong."""
            return "pong"

        self._tools = [Tool(ping)]

    async def tools(self) -> Sequence[Tool]:
        self.setups += 1
        return self._tools

    async def aclose(self) -> None:
        self.closed += 1


async def test_toolset_tools_are_offered_and_called() -> None:
    toolset = Counting()
    sc = script(
        {"on": "user", "match": "go", "toolCalls": [{"name": "ping", "arguments": {}}]},
        {"on": "tool", "match": "(.*)", "text": "got \\1"},
    )
    agent = Agent(
        ScriptedProvider(sc),
        settings=AgentSettings(model="t"),
        store=MemorySessionStore(),
        toolsets=[toolset],
    )
    async with agent:
        assert agent.tools.names() == ["ping"]
        events = await collect(agent.stream("go"))
    assert events[-1].content == "got pong"  # type: ignore[union-attr]
    request = agent.provider.requests[0]  # type: ignore[attr-defined]
    assert [spec.name for spec in request.tools] == ["ping"]
    await agent.start()  # a second start does not add the tools twice
    assert agent.tools.names() == ["ping"]
    assert toolset.closed == 0


def test_unknown_tool_names_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"bots\.main\.tools: unknown tool\(s\) nope"):
        resolve_tools("main", ("current_time", "nope"))
    assert [t.name for t in resolve_tools("main", ("current_time",)).tools] == ["current_time"]


def test_mcp_servers_give_every_bot_an_mcp_toolset(tmp_path: Path) -> None:
    servers = {"time": {"command": "mcp-server-time"}}
    data = {"workspace": "ws", "bots": {"main": {"preset": "demo"}}, "mcpServers": servers}
    config = parse_config(data, base_dir=tmp_path, env={})
    resolved = resolve_tools("main", ("current_time",), config=config)
    [toolset] = resolved.toolsets
    assert isinstance(toolset, McpToolset)
    assert [s.name for s in toolset.status()] == ["time"]
    assert toolset.status()[0].state == "not started"  # nothing starts before an agent does
    assert toolset.reserved == {"current_time"}
    assert toolset.workspace == tmp_path / "ws"
    without = parse_config({"workspace": "ws"}, base_dir=tmp_path, env={})
    assert resolve_tools("main", (), config=without).toolsets == []


async def test_code_tool_names_resolve_to_one_code_toolset(tmp_path: Path) -> None:
    config = parse_config({"workspace": "ws", "code": {"poolSize": 0}}, base_dir=tmp_path, env={})
    resolved = resolve_tools("main", ("current_time", "ipybox_execute_ipython_cell"), config=config)
    assert [t.name for t in resolved.tools] == ["current_time"]
    (toolset,) = resolved.toolsets
    assert isinstance(toolset, CodeToolset)
    assert toolset.paths.workspace == tmp_path / "ws"
    try:  # only the named code tools are offered; nothing starts for pool size 0
        assert [t.name for t in await toolset.tools()] == ["ipybox_execute_ipython_cell"]
        assert toolset.pool.kernels() == []
    finally:
        await toolset.aclose()
    with pytest.raises(ConfigError, match="need the config"):
        resolve_tools("main", ("ipybox_reset",))
