"""The models: defaults, aliases, ranges and the checks across sections."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import FacioConfig, ProviderConfig, TelegramConfig
from tests.unit.config.helpers import parse, problems


def test_empty_config_is_valid_with_documented_defaults() -> None:
    config = parse({})
    assert config.workspace == Path("/srv/facio/workspace")
    assert config.redis.url == ""
    assert config.agent.model == "openai:gpt-4.1-mini"
    assert (config.agent.max_turns, config.agent.max_subagents) == (50, 5)
    assert config.agent.execution_timeout == 300
    assert config.agent.approval_timeout == 3600
    assert config.agent.approval_hold == 120
    assert list(config.bots) == ["main"]
    assert config.bots["main"].preset == "assistant"
    assert (config.gateway.host, config.gateway.port) == ("127.0.0.1", 8765)
    assert config.gateway.api_token.get_secret_value() == ""
    assert not config.channels.telegram.enabled
    assert not config.channels.slack.enabled
    assert not config.channels.discord.enabled
    assert config.channels.enabled() == {}
    assert config.mcp_servers == {} and config.ptc_servers == {} and config.cron == []


def test_camel_case_round_trip() -> None:
    data = {
        "agent": {"maxTurns": 7, "approvalHold": 0, "systemPrompt": "hi"},
        "channels": {"telegram": {"allowFrom": ["1"], "groupPolicy": "open"}},
        "mcpServers": {"time": {"command": "t", "enabledTools": ["now"]}},
    }
    config = parse(data)
    assert config.agent.max_turns == 7 and config.agent.approval_hold == 0
    dumped = config.model_dump(mode="json")
    assert dumped["agent"]["maxTurns"] == 7
    assert dumped["mcpServers"]["time"]["enabledTools"] == ["now"]
    assert "max_turns" not in dumped["agent"]
    again = FacioConfig.model_validate(config.model_dump())
    assert again == config


def test_snake_case_names_are_accepted_too() -> None:
    assert parse({"agent": {"max_turns": 3}}).agent.max_turns == 3


def test_models_are_frozen() -> None:
    config = parse({})
    with pytest.raises(ValidationError):
        config.agent.max_turns = 2  # type: ignore[misc]


def test_numeric_strings_from_env_become_numbers() -> None:
    config = parse(
        {"gateway": {"port": "${PORT:-9000}"}, "agent": {"approvalHold": "${HOLD}"}},
        env={"HOLD": "0"},
    )
    assert config.gateway.port == 9000
    assert config.agent.approval_hold == 0


def test_boolean_strings_from_env() -> None:
    data = {"channels": {"telegram": {"enabled": "${TG_ON:-false}", "token": "t"}}}
    assert parse(data).channels.telegram.enabled is False
    assert parse(data, env={"TG_ON": "true"}).channels.telegram.enabled is True


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"gateway": {"port": 0}}, "gateway.port"),
        ({"gateway": {"port": 65536}}, "gateway.port"),
        ({"agent": {"maxTurns": 0}}, "agent.maxTurns"),
        ({"agent": {"executionTimeout": -1}}, "agent.executionTimeout"),
        ({"agent": {"approvalTimeout": -1}}, "agent.approvalTimeout"),
        ({"agent": {"approvalHold": -0.5}}, "agent.approvalHold"),
        ({"providers": {"openai": {"timeout": 0}}}, "providers.openai.timeout"),
        ({"mcpServers": {"t": {"command": "x", "timeout": -1}}}, "mcpServers.t.timeout"),
    ],
)
def test_ranges(data: dict[str, object], path: str) -> None:
    assert path in problems(data)


def test_allow_from_accepts_numbers_as_strings() -> None:
    telegram = TelegramConfig.model_validate({"allowFrom": [123456789, "@alice"], "approvers": [7]})
    assert telegram.allow_from == ["123456789", "@alice"]
    assert telegram.approvers == ["7"]


@pytest.mark.parametrize(
    "base", ["localhost:8081", "127.0.0.1:8081", "ftp://host", "http://", "http://h:99999",
             "http://h/api?x=1", "https://h/#frag", "http://a b"],
)  # fmt: skip
def test_api_base_must_be_an_http_url_with_a_host(base: str) -> None:
    # "localhost:8081" parses as a scheme: aiohttp's error would then print the whole
    # request URL, token included; refused here, it never gets that far
    message = problems({"channels": {"telegram": {"apiBase": base}}})["channels.telegram.apiBase"]
    assert message.startswith('expected "" (the public API) or an http(s) URL with a host')
    assert repr(base) in message


def test_api_base_accepts_empty_and_http_urls() -> None:
    for base in ("", "http://127.0.0.1:8081", "https://tg.example.com/bot-api/"):
        assert TelegramConfig.model_validate({"apiBase": base}).api_base == base


def test_user_refs_are_ids_or_usernames() -> None:
    found = problems(
        {
            "channels": {
                "telegram": {"allowFrom": [1, "@alice", "alice"], "approvers": ["boss"]},
                "discord": {"allowFrom": ["12 34"]},
                "slack": {"allowFrom": ["U012AB3CD", "@carol", "W0X", "car ol"]},
            }
        }
    )
    assert found == {
        "channels.telegram.allowFrom.2": "'alice' is neither a numeric user id nor an "
        '@username (for a username write "@alice")',
        "channels.telegram.approvers.0": "'boss' is neither a numeric user id nor an "
        '@username (for a username write "@boss")',
        "channels.discord.allowFrom.0": "'12 34' is neither a numeric user id nor an @username",
        "channels.slack.allowFrom.3": "'car ol' is neither a Slack user id nor an @username",
    }


def test_secrets_never_appear_in_repr_or_str() -> None:
    config = parse(
        {
            "providers": {"openai": {"apiKey": "sk-SECRET1", "headers": {"X-Key": "SECRET2"}}},
            "channels": {
                "telegram": {"enabled": True, "token": "SECRET3", "webhookSecret": "SECRET4"},
                "slack": {"botToken": "SECRET5", "appToken": "SECRET6", "signingSecret": "SECRET7"},
                "discord": {"token": "SECRET8"},
            },
            "mcpServers": {"m": {"url": "http://x", "headers": {"Authorization": "SECRET9"}}},
            "gateway": {"apiToken": "SECRET10"},
        }
    )
    for text in (repr(config), str(config), repr(config.provider("openai"))):
        assert "SECRET" not in text
    assert config.providers["openai"].api_key.get_secret_value() == "sk-SECRET1"
    dumped = config.model_dump_json()  # headers are plain text there; secrets are masked
    for n in (1, 3, 4, 5, 6, 7, 8, 10):
        assert f"SECRET{n}" not in dumped


def test_provider_lookup_falls_back_to_defaults() -> None:
    config = parse({"providers": {"openai": {"apiKey": "k"}}})
    assert config.provider("openai").api_key.get_secret_value() == "k"
    assert config.provider("ollama") == ProviderConfig()


def test_unknown_provider_in_agent_model_names_the_key_and_the_known_names() -> None:
    found = problems({"agent": {"model": "opena1:gpt-4.1"}})
    message = found["agent.model"]
    assert "'opena1'" in message
    assert "openai" in message and "anthropic" in message


def test_unknown_provider_in_bot_model() -> None:
    found = problems({"bots": {"main": {"model": "nope:x"}}})
    assert "unknown provider 'nope'" in found["bots.main.model"]


def test_model_without_provider_prefix() -> None:
    assert "<provider>:<model>" in problems({"agent": {"model": "gpt-4.1"}})["agent.model"]


def test_custom_provider_needs_protocol_and_api_base() -> None:
    found = problems({"providers": {"mine": {"apiKey": "k"}}})
    assert "protocol" in found["providers.mine.protocol"]
    assert "apiBase" in found["providers.mine.apiBase"]


def test_custom_provider_can_be_used_in_model_strings() -> None:
    data = {
        "providers": {"mine": {"protocol": "openai", "apiBase": "http://127.0.0.1:9/v1"}},
        "agent": {"model": "mine:llama"},
    }
    assert parse(data).provider("mine").protocol == "openai"


def test_custom_provider_protocol_must_be_known() -> None:
    found = problems({"providers": {"mine": {"protocol": "grpc", "apiBase": "http://x"}}})
    assert "providers.mine.protocol" in found


def test_bot_needs_preset_or_model() -> None:
    assert problems({"bots": {"x": {"systemPrompt": "hi"}}}) == {
        "bots.x": "set a preset or a model"
    }
    assert parse({"bots": {"x": {"model": "openai:gpt-4.1"}}}).bots["x"].preset is None


def test_bots_cannot_be_empty() -> None:
    assert "bots" in problems({"bots": {}})


@pytest.mark.parametrize(
    ("channel", "settings", "missing"),
    [
        ("telegram", {}, ["token"]),
        ("telegram", {"token": "t", "mode": "webhook"}, ["webhookUrl"]),
        ("slack", {}, ["botToken", "appToken"]),
        ("slack", {"botToken": "b", "mode": "http"}, ["signingSecret"]),
        ("discord", {"token": "   "}, ["token"]),
    ],
)
def test_enabled_channel_without_tokens(
    channel: str, settings: dict[str, str], missing: list[str]
) -> None:
    found = problems({"channels": {channel: {"enabled": True, **settings}}})
    assert sorted(found) == sorted(f"channels.{channel}.{key}" for key in missing)


def test_enabled_channel_with_empty_env_token_is_an_error() -> None:
    data = {"channels": {"telegram": {"enabled": True, "token": "${TELEGRAM_BOT_TOKEN:-}"}}}
    assert "channels.telegram.token" in problems(data)


def test_enabled_channels_load() -> None:
    config = parse(
        {
            "channels": {
                "telegram": {"enabled": True, "token": "t"},
                "slack": {"enabled": True, "botToken": "b", "appToken": "a"},
                "discord": {"enabled": True, "token": "d"},
            }
        }
    )
    assert list(config.channels.enabled()) == ["telegram", "slack", "discord"]


def test_channel_must_name_an_existing_bot() -> None:
    data = {"channels": {"discord": {"enabled": True, "token": "d", "bot": "helper"}}}
    message = problems(data)["channels.discord.bot"]
    assert "'helper'" in message and "main" in message


def test_disabled_channel_bot_reference_is_not_checked() -> None:
    config = parse({"bots": {"helper": {"preset": "assistant"}}})
    assert config.channels.telegram.bot == "main"


@pytest.mark.parametrize(
    ("server", "path", "needle"),
    [
        ({"command": "x", "url": "http://y"}, "mcpServers.s", "not both"),
        ({}, "mcpServers.s", "or url (an HTTP server)"),
        ({"args": ["a"]}, "mcpServers.s", "set command"),
        ({"url": "http://y", "args": ["a"]}, "mcpServers.s.args", "stdio"),
        ({"command": "x", "headers": {"a": "b"}}, "mcpServers.s.headers", "HTTP"),
    ],
)
def test_mcp_server_transport(server: dict[str, object], path: str, needle: str) -> None:
    assert needle in problems({"mcpServers": {"s": server}})[path]


def test_mcp_and_ptc_servers_load() -> None:
    config = parse(
        {
            "mcpServers": {"time": {"command": "mcp-server-time", "env": {"TZ": "UTC"}}},
            "ptcServers": {"docs_1": {"url": "http://127.0.0.1:9000/mcp", "timeout": "5"}},
        }
    )
    assert config.mcp_servers["time"].transport == "stdio"
    assert config.ptc_servers["docs_1"].transport == "http"
    assert config.ptc_servers["docs_1"].timeout == 5
    assert config.mcp_servers["time"].timeout == 60


def test_server_names_must_be_identifiers() -> None:
    found = problems({"ptcServers": {"my server": {"command": "x"}}})
    assert "invalid name" in found["ptcServers.my server"]


@pytest.mark.parametrize(
    ("schedule", "needle"),
    [
        ("0 8 * *", "5 fields"),
        ("0 8 * * * *", "5 fields"),
        ("0 8 * * MOON", "Bad day-of-week"),
        ("61 8 * * *", "Bad minute"),
        ("0 8 31 2 *", "Bad day-of-month"),
        ("@daily", "5 fields"),
    ],
)
def test_bad_cron_schedule(schedule: str, needle: str) -> None:
    job = {"name": "digest", "schedule": schedule, "prompt": "p"}
    assert needle in problems({"cron": [job]})["cron.0.schedule"]


def test_an_invalid_expression_or_zone_names_the_job_and_key() -> None:
    good = {"name": "a", "schedule": "0 8 * * 1-5", "prompt": "p"}
    found = problems(
        {
            "cron": [
                good,
                {**good, "name": "b", "timezone": "Europe/Berlin"},
                {**good, "name": "c", "schedule": "0 25 * * *", "timezone": "Mars/Olympus"},
            ]
        }
    )
    assert set(found) == {"cron.2.schedule", "cron.2.timezone"}
    assert "Bad hour" in found["cron.2.schedule"]
    assert "'Mars/Olympus'" in found["cron.2.timezone"]


def test_timezone_and_schedules_defaults() -> None:
    config = parse({})
    assert config.timezone == "UTC"
    assert config.schedules.grace == 3600
    assert (config.schedules.max_per_session, config.schedules.max_total) == (20, 1000)
    assert config.schedules.min_interval == 60
    assert "'Moon/Base'" in problems({"timezone": "Moon/Base"})["timezone"]
    found = problems({"schedules": {"maxPerSession": -1, "minInterval": 0}})
    assert set(found) == {"schedules.maxPerSession", "schedules.minInterval"}


def test_cron_jobs() -> None:
    config = parse(
        {
            "cron": [
                {"name": "digest", "schedule": "*/15 8-18 * * MON,2,3", "prompt": "p"},
                {"name": "b", "schedule": "0 0 1 1 *", "prompt": "p", "session": "telegram:1"},
            ]
        }
    )
    assert config.cron[0].session == "cron:digest"
    assert config.cron[1].session == "telegram:1"
    assert config.cron[0].timezone is None  # the config's timezone applies


def test_cron_names_unique_and_bots_exist() -> None:
    job = {"name": "digest", "schedule": "0 8 * * *", "prompt": "p"}
    found = problems({"cron": [job, {**job, "bot": "ghost"}]})
    assert "duplicate" in found["cron.1.name"]
    assert "'ghost'" in found["cron.1.bot"]
