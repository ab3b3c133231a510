"""Facio: configuration errors, persistence across instances, one turn at a time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from core.errors import ConfigError
from core.providers.scripted import ScriptedProvider
from core.tools import Tool
from facio import Facio, RunResult


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"workspace": "ws", **data}))
    return path


DEMO = {"bots": {"main": {"preset": "demo"}}}


def test_unknown_bot_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no bot named 'other'"):
        Facio.from_config(_write(tmp_path, DEMO), bot="other")


def test_unknown_preset_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Facio.from_config(_write(tmp_path, {"bots": {"main": {"preset": "wizard"}}}))
    assert err.value.path == "bots.main.preset"
    assert "assistant" in str(err.value)


def test_the_sdk_leaves_the_runtime_schedule_tools_out(tmp_path: Path) -> None:
    # nothing in the SDK would ever fire a schedule: named by the bot, offered only
    # where the runtime provides them (workers.bots passes runtime_tools)
    names = ["save_note", "schedule_create", "schedule_list", "schedule_cancel"]
    path = _write(tmp_path, {"bots": {"main": {"preset": "demo", "tools": names}}})
    assert [t.name for t in Facio.from_config(path).tools] == ["save_note"]
    offered = Tool(lambda: "ok", name="schedule_list")
    facio = Facio(load_config(path), runtime_tools={"schedule_list": offered})
    assert [t.name for t in facio.tools] == ["save_note", "schedule_list"]


def test_unknown_tool_names_the_key(tmp_path: Path) -> None:
    config = {"bots": {"main": {"preset": "demo", "tools": ["save_note", "fly"]}}}
    with pytest.raises(ConfigError) as err:
        Facio.from_config(_write(tmp_path, config))
    assert err.value.path == "bots.main.tools" and "fly" in str(err.value)


def test_missing_api_key_is_a_config_error(tmp_path: Path) -> None:
    config = {"agent": {"model": "openai:gpt-4.1-mini"}, "bots": {"main": {"preset": "assistant"}}}
    with pytest.raises(ConfigError) as err:
        Facio.from_config(_write(tmp_path, config))
    assert err.value.path == "providers.openai.apiKey"


def test_unknown_script_is_a_config_error(tmp_path: Path) -> None:
    config = {"bots": {"main": {"model": "scripted:nope", "tools": []}}}
    with pytest.raises(ConfigError, match="unknown script 'nope'"):
        Facio.from_config(_write(tmp_path, config))


def test_script_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"fallback": "from file"}))
    bot = Facio.from_config(_write(tmp_path, {"bots": {"main": {"model": "scripted:s.json"}}}))
    assert isinstance(bot.provider, ScriptedProvider)
    assert bot.provider.script.fallback == "from file"


def test_workspace_argument_overrides(tmp_path: Path) -> None:
    bot = Facio.from_config(_write(tmp_path, DEMO), workspace=tmp_path / "elsewhere")
    assert bot.workspace == tmp_path / "elsewhere"


async def test_history_survives_a_new_instance(tmp_path: Path) -> None:
    path = _write(tmp_path, DEMO)
    first = Facio.from_config(path)
    await first.run("hello", session_key="me")
    second = Facio.from_config(path)
    async with second.agent("me") as agent:
        assert [m.role for m in agent.history] == ["user", "assistant"]
    files = list((tmp_path / "ws" / ".facio" / "sessions").glob("*.jsonl"))
    assert [f.name for f in files] == ["me.jsonl"]


async def test_concurrent_runs_on_one_session_take_turns(tmp_path: Path) -> None:
    bot = Facio.from_config(_write(tmp_path, DEMO))
    results = await asyncio.gather(*(bot.run(f"hello {i}", session_key="me") for i in range(5)))
    assert all(r.content.startswith("Hi!") for r in results)
    history = await bot.sessions.load("me")
    # strictly alternating: no turn interleaved with another
    assert [m.role for m in history] == ["user", "assistant"] * 5


async def test_bot_defaults_allow_read_only_tools(tmp_path: Path) -> None:
    bot = Facio.from_config(_write(tmp_path, DEMO))
    result = await bot.run("what are my notes?", session_key="me")
    assert result.tools_used == ["list_notes"] and result.rejected == []
    assert "No notes yet." in result.content


async def test_reset_session_forgets_history_and_session_rules(tmp_path: Path) -> None:
    bot = Facio.from_config(_write(tmp_path, DEMO))
    await bot.run("hello", session_key="me")
    manager = bot.permissions("me")
    await manager.allow_session("save_note")
    other = bot.permissions("other")
    await other.allow_session("save_note")
    await bot.reset_session("me")
    assert await bot.sessions.load("me") == []
    fresh = bot.permissions("me")
    await fresh.load()
    assert not fresh.is_allowed("save_note", {})
    again = bot.permissions("other")
    await again.load()
    assert again.is_allowed("save_note", {})  # other sessions keep theirs


async def _delegate(path: Path) -> tuple[list[str], RunResult]:
    """The tools offered to the model, and a run that asks it to delegate."""
    bot = Facio.from_config(path)
    result = await bot.run("delegate: what time is it?", session_key="me")
    assert isinstance(bot.provider, ScriptedProvider)
    (request, *_) = bot.provider.requests
    return [spec.name for spec in request.tools], result


async def test_subagent_task_is_offered_only_when_max_subagents_allows(tmp_path: Path) -> None:
    bot = {
        "model": "scripted:code",
        "tools": ["current_time", "subagent_task"],
        "allow": ["subagent_task"],
    }
    offered, result = await _delegate(_write(tmp_path, {"bots": {"main": bot}}))
    assert offered == ["current_time", "subagent_task"]
    assert result.tools_used == ["subagent_task"] and result.rejected == []
    # agent.maxSubagents 0: not offered at all, rather than a tool that always fails
    off = _write(tmp_path, {"agent": {"maxSubagents": 0}, "bots": {"main": bot}})
    offered, result = await _delegate(off)
    assert offered == ["current_time"]
    assert result.tools_used == [] and "unknown tool 'subagent_task'" in result.content
