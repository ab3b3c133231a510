"""Validation problems read as `key.path: what was expected, got what`."""

from __future__ import annotations

import pytest

from core.config import ConfigValidationError
from core.errors import ConfigError
from tests.unit.config.helpers import parse, problems


def test_wrong_type_names_the_path_the_expectation_and_the_value() -> None:
    assert problems({"agent": {"maxTurns": "x"}}) == {
        "agent.maxTurns": 'expected an integer ≥ 1, got "x"'
    }


def test_one_problem_sets_the_error_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"gateway": {"port": "http"}})
    assert caught.value.path == "gateway.port"
    assert str(caught.value) == 'gateway.port: expected an integer from 1 to 65535, got "http"'


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"workspace": 3}, "workspace", "expected a path (a string), got 3"),
        ({"redis": []}, "redis", "expected an object, got []"),
        ({"redis": {"url": 5}}, "redis.url", "expected a string, got 5"),
        ({"agent": {"approvalHold": "soon"}}, "agent.approvalHold",
         'expected a number ≥ 0, got "soon"'),
        ({"bots": {"main": {"tools": "all"}}}, "bots.main.tools", 'expected a list, got "all"'),
        ({"channels": {"telegram": {"enabled": "maybe"}}}, "channels.telegram.enabled",
         'expected true or false, got "maybe"'),
        ({"channels": {"slack": {"mode": "rtm"}}}, "channels.slack.mode",
         'expected one of "socket", "http", got "rtm"'),
        ({"cron": [{"name": "a", "schedule": "* * * * *"}]}, "cron.0.prompt",
         "required key is missing; expected a string that is not empty"),
    ],
)  # fmt: skip
def test_friendly_messages(data: dict[str, object], path: str, message: str) -> None:
    assert problems(data) == {path: message}


def test_secret_values_are_not_echoed() -> None:
    message = problems({"gateway": {"apiToken": 12345678}})["gateway.apiToken"]
    assert message == "expected a string"


def test_unknown_key_lists_the_known_keys_and_suggests_one() -> None:
    message = problems({"agent": {"maxTurn": 3}})["agent.maxTurn"]
    assert message.startswith("unknown key; did you mean 'maxTurns'? known keys here: ")
    assert "executionTimeout" in message and "approvalHold" in message


def test_unknown_key_at_the_root_and_deep() -> None:
    found = problems(
        {
            "channel": {},
            "mcpServers": {"t": {"command": "x", "cmd": "y"}},
            "channels": {"telegram": {"tokn": "x"}},
        }
    )
    assert "did you mean 'channels'" in found["channel"]
    assert "known keys here: command, args" in found["mcpServers.t.cmd"]
    assert "did you mean 'token'" in found["channels.telegram.tokn"]


def test_every_problem_is_listed_in_one_error() -> None:
    with pytest.raises(ConfigValidationError) as caught:
        parse({"agent": {"maxTurns": 0, "colour": "red"}, "gateway": {"port": -1}})
    error = caught.value
    assert [problem.path for problem in error.problems] == [
        "agent.maxTurns",
        "agent.colour",
        "gateway.port",
    ]
    text = str(error)
    assert text.startswith("3 problems:\n")
    assert "  agent.maxTurns: expected an integer ≥ 1, got 0\n" in text
    assert error.path == ""
