"""`${VAR}` references in string values."""

from __future__ import annotations

import pytest

from core.config import ConfigValidationError, resolve_env
from tests.unit.config.helpers import parse, problems


def test_variables_and_defaults() -> None:
    data = {"a": "${A}", "b": "x-${B:-dflt}-y", "c": "${C:-}", "n": 3, "t": True, "z": None}
    assert resolve_env(data, {"A": "1"}) == {
        "a": "1",
        "b": "x-dflt-y",
        "c": "",
        "n": 3,
        "t": True,
        "z": None,
    }


def test_empty_variable_takes_the_default_like_the_shell() -> None:
    assert resolve_env({"a": "${A:-d}", "b": "${A}"}, {"A": ""}) == {"a": "d", "b": ""}


def test_set_variable_wins_over_default() -> None:
    assert resolve_env(["${A:-d}"], {"A": "v"}) == ["v"]


def test_escape_gives_a_literal_reference() -> None:
    assert resolve_env({"a": "$${HOME} costs $5"}, {"HOME": "/root"}) == {"a": "${HOME} costs $5"}


def test_keys_are_not_resolved() -> None:
    assert resolve_env({"${A}": "${A}"}, {"A": "v"}) == {"${A}": "v"}


def test_missing_variable_names_the_key_path_and_the_variable() -> None:
    found = problems({"providers": {"openai": {"apiKey": "${OPENAI_API_KEY}"}}})
    message = found["providers.openai.apiKey"]
    assert "OPENAI_API_KEY" in message and "not set" in message


def test_missing_variables_in_lists_are_all_reported() -> None:
    data = {"cron": [{"prompt": "${P1}"}, {"prompt": "${P2}"}]}
    with pytest.raises(ConfigValidationError) as caught:
        resolve_env(data, {}, source="cfg.json")
    assert [p.path for p in caught.value.problems] == ["cron.0.prompt", "cron.1.prompt"]
    assert str(caught.value).startswith("cfg.json: 2 problems:")


@pytest.mark.parametrize(
    ("value", "needle"),
    [("${A", "unterminated"), ("${1A}", "invalid reference"), ("${A-x}", "invalid reference")],
)
def test_malformed_references(value: str, needle: str) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        resolve_env({"k": value}, {"A": "v"})
    assert caught.value.path == "k"
    assert needle in str(caught.value)


def test_values_are_resolved_before_validation() -> None:
    config = parse({"redis": {"url": "redis://${REDIS_HOST:-localhost}:6379/0"}})
    assert config.redis.url == "redis://localhost:6379/0"
