"""Bot presets and how a config entry becomes a BotSpec."""

from __future__ import annotations

import pytest

from bots import PRESETS, builtin_scripts, resolve_bot
from bots.toolbox import RUNTIME_TOOLS
from core.agent.subagent import SUBAGENT_TOOL
from core.code import CODE_TOOL_NAMES
from core.config import AgentConfig, BotConfig
from core.errors import ConfigError
from core.tools.builtin import BUILTIN_TOOLS


def test_three_presets_with_known_tools() -> None:
    assert set(PRESETS) == {"assistant", "team", "demo"}
    for spec in PRESETS.values():
        known = {*BUILTIN_TOOLS, *CODE_TOOL_NAMES, SUBAGENT_TOOL, *RUNTIME_TOOLS}
        assert set(spec.tools) <= known, spec.name
        assert set(spec.allow) <= set(spec.tools), spec.name
        assert spec.system_prompt


def test_presets_deny_side_effects_by_default() -> None:
    for spec in PRESETS.values():
        assert "save_note" in spec.tools and "save_note" not in spec.allow
        assert "ipybox_execute_ipython_cell" not in spec.allow


def test_the_assistant_runs_code_and_the_demo_stays_offline() -> None:
    assistant, demo = PRESETS["assistant"], PRESETS["demo"]
    assert {"ipybox_execute_ipython_cell", "ipybox_reset"} <= set(assistant.tools)
    assert "ipybox_reset" in assistant.allow  # a reset only loses state: no need to ask
    assert not set(demo.tools) & set(CODE_TOOL_NAMES)  # no kernel for the demo
    assert "code" in builtin_scripts()
    assert SUBAGENT_TOOL in assistant.tools and SUBAGENT_TOOL not in demo.tools


def test_demo_pins_the_offline_model_and_its_script_ships() -> None:
    spec = resolve_bot("main", BotConfig(preset="demo"), AgentConfig(model="openai:gpt-4.1"))
    assert spec.model == "scripted:demo"
    assert "demo" in builtin_scripts()


def test_agent_model_applies_to_presets_without_one() -> None:
    spec = resolve_bot("main", BotConfig(preset="assistant"), AgentConfig(model="anthropic:x"))
    assert spec.model == "anthropic:x"
    assert spec.system_prompt == PRESETS["assistant"].system_prompt


def test_bot_keys_override_agent_and_preset() -> None:
    bot = BotConfig(
        preset="team",
        model="ollama:llama3",
        system_prompt="Be terse.",
        tools=["current_time"],
        allow=["save_note"],
    )
    spec = resolve_bot("ops", bot, AgentConfig(system_prompt="agent prompt"))
    assert (spec.name, spec.model, spec.system_prompt) == ("ops", "ollama:llama3", "Be terse.")
    assert spec.tools == ("current_time",)
    assert spec.allow == ("current_time", "list_notes", "save_note")


def test_agent_system_prompt_beats_the_preset() -> None:
    spec = resolve_bot("m", BotConfig(preset="assistant"), AgentConfig(system_prompt="Mine."))
    assert spec.system_prompt == "Mine."


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError) as err:
        resolve_bot("x", BotConfig(preset="nope"), AgentConfig())
    assert err.value.path == "bots.x.preset"
