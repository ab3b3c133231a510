"""config/example.json: the full example of the design, loadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "example.json"
# The example enables Telegram and the API, so like a real deployment it needs
# these two variables; every other reference has a default.
ENV = {"TELEGRAM_BOT_TOKEN": "123:abc", "FACIO_API_TOKEN": "token"}


def test_example_loads_with_every_section() -> None:
    config = load_config(EXAMPLE, env=ENV)
    assert config.workspace == EXAMPLE.parent / "workspace"
    assert config.agent.model == "openai:gpt-4.1-mini"
    assert {"openai", "anthropic", "ollama"} <= set(config.providers)
    assert set(config.bots) >= {"main"}
    assert list(config.channels.enabled()) == ["telegram"]
    assert config.channels.telegram.token.get_secret_value() == "123:abc"
    assert config.mcp_servers["time"].transport == "stdio"
    assert config.mcp_servers["docs"].transport == "http"
    assert config.gateway.port == 8765
    assert [job.name for job in config.cron] == ["digest"]


def test_example_names_the_variables_it_needs() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, env={})
    assert "TELEGRAM_BOT_TOKEN" in str(caught.value)
    assert "FACIO_API_TOKEN" in str(caught.value)
