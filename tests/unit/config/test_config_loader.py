"""Finding and loading config.json: lookup order, file errors, workspace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.config import ConfigValidationError, find_config, load_config, read_jsonc
from core.errors import ConfigError


def write(path: Path, data: object | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """A working folder, a home folder and an elsewhere, each with a config.json."""
    return {
        "explicit": write(tmp_path / "elsewhere" / "mine.json", {}),
        "env": write(tmp_path / "from-env" / "config.json", {}),
        "cwd": write(tmp_path / "work" / "config.json", {}),
        "home": write(tmp_path / "home" / ".facio" / "config.json", {}),
    }


def lookup(places: dict[str, Path], explicit: Path | None, env: dict[str, str]) -> Path:
    cwd = places["cwd"].parent
    home = places["home"].parent.parent
    return find_config(explicit, env=env, cwd=cwd, home=home)


def test_explicit_path_comes_first(places: dict[str, Path]) -> None:
    env = {"FACIO_CONFIG": str(places["env"])}
    assert lookup(places, places["explicit"], env) == places["explicit"]


def test_then_the_environment_variable(places: dict[str, Path]) -> None:
    assert lookup(places, None, {"FACIO_CONFIG": str(places["env"])}) == places["env"]


def test_then_the_working_folder(places: dict[str, Path]) -> None:
    assert lookup(places, None, {"FACIO_CONFIG": ""}) == places["cwd"]


def test_then_the_home_folder(places: dict[str, Path]) -> None:
    places["cwd"].unlink()
    assert lookup(places, None, {}) == places["home"]


def test_nothing_found_lists_what_was_tried(places: dict[str, Path]) -> None:
    places["cwd"].unlink()
    places["home"].unlink()
    with pytest.raises(ConfigError) as caught:
        lookup(places, None, {})
    message = str(caught.value)
    assert str(places["cwd"]) in message and str(places["home"]) in message
    assert "--config" in message and "FACIO_CONFIG" in message and "facio init" in message


def test_explicit_path_that_does_not_exist_is_an_error(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as caught:
        lookup(places, Path("nope.json"), {})
    assert str(places["cwd"].parent / "nope.json") in str(caught.value)


def test_env_path_that_does_not_exist_is_an_error(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"FACIO_CONFIG"):
        lookup(places, None, {"FACIO_CONFIG": "/nowhere/config.json"})


def test_relative_explicit_path_and_folder(places: dict[str, Path]) -> None:
    assert lookup(places, Path("config.json"), {}) == places["cwd"]
    assert lookup(places, places["env"].parent, {}) == places["env"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_config(tmp_path / "missing.json", env={})


def test_invalid_json_reports_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "config.json", '{\n  // ok\n  "agent": {"maxTurns": 5 "x": 1}\n}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid JSON at line 3, column 27: Expecting ',' delimiter")
    assert caught.value.source == str(path)


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"JSON object at the top level"):
        load_config(write(tmp_path / "config.json", "[]"), env={})


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read"):
        read_jsonc(tmp_path)  # a folder
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ConfigError, match=r"not UTF-8"):
        read_jsonc(bad)


def test_validation_errors_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "config.json", {"agent": {"maxTurns": "x"}})
    with pytest.raises(ConfigValidationError) as caught:
        load_config(path, env={})
    assert str(caught.value) == f'{path}: agent.maxTurns: expected an integer ≥ 1, got "x"'


def test_relative_workspace_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "proj" / "config.json", {"workspace": "./data/../ws"})
    monkeypatch.chdir(tmp_path)
    config = load_config("proj/config.json", env={})
    assert config.workspace == tmp_path / "proj" / "ws"
    assert config.workspace.is_absolute()
    assert config.config_path == path


def test_absolute_and_home_workspaces(tmp_path: Path) -> None:
    path = write(tmp_path / "config.json", {"workspace": str(tmp_path / "abs")})
    assert load_config(path, env={}).workspace == tmp_path / "abs"
    write(path, {"workspace": "~/facio-ws"})
    assert load_config(path, env={}).workspace == Path("~/facio-ws").expanduser()


def test_workspace_argument_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "proj" / "config.json", {"workspace": "./ws"})
    monkeypatch.chdir(tmp_path)
    assert load_config(path, env={}, workspace="other").workspace == tmp_path / "other"


def test_env_supplies_config_path_and_variables(tmp_path: Path) -> None:
    path = write(tmp_path / "c.json", {"gateway": {"apiToken": "${TOKEN}"}})
    config = load_config(env={"FACIO_CONFIG": str(path), "TOKEN": "abc"})
    assert config.gateway.api_token.get_secret_value() == "abc"


def test_default_environment_is_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "c.json", {"redis": {"url": "${FACIO_TEST_REDIS}"}})
    monkeypatch.setenv("FACIO_TEST_REDIS", "redis://r")
    assert load_config(path).redis.url == "redis://r"
    assert os.environ["FACIO_TEST_REDIS"] == "redis://r"
