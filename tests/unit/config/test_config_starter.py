"""`facio init` and the starter config it writes."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from core.config import load_config, write_starter
from core.errors import ConfigError
from facio.cli import init_cmd


def main(argv: Sequence[str]) -> int:
    """Run `facio init` through its own parser, independent of the other subcommands."""
    parser = argparse.ArgumentParser(prog="facio")
    init_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return init_cmd.run(args)


def test_starter_loads_offline_with_an_empty_environment(tmp_path: Path) -> None:
    path = write_starter(tmp_path)
    assert path == tmp_path / "config.json"
    assert "//" in path.read_text(encoding="utf-8")  # commented
    config = load_config(path, env={})
    assert config.agent.model == "scripted:demo"
    assert config.bots["main"].preset == "demo"
    assert config.channels.enabled() == {}
    assert config.workspace == tmp_path / "workspace"
    assert config.workspace.is_dir()


def test_starter_holds_a_fresh_api_token(tmp_path: Path) -> None:
    first = load_config(write_starter(tmp_path / "a"), env={}).gateway.api_token
    second = load_config(write_starter(tmp_path / "b"), env={}).gateway.api_token
    assert len(first.get_secret_value()) >= 40
    assert first.get_secret_value() != second.get_secret_value()


def test_env_token_overrides_the_written_one(tmp_path: Path) -> None:
    config = load_config(write_starter(tmp_path), env={"FACIO_API_TOKEN": "mine"})
    assert config.gateway.api_token.get_secret_value() == "mine"


def test_starter_is_private(tmp_path: Path) -> None:
    path = write_starter(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"already exists.*--force"):
        write_starter(tmp_path)
    assert path.read_text(encoding="utf-8") == "{}"
    write_starter(tmp_path, force=True)
    assert "scripted:demo" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cli_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "config.json").is_file()
    assert "wrote" in capsys.readouterr().out
    assert main(["init", str(tmp_path / "new")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["init", "--force", str(tmp_path / "new")]) == 0


def test_the_starter_mentions_slack_disabled_with_its_tokens_from_the_environment(
    tmp_path: Path,
) -> None:
    path = write_starter(tmp_path)
    assert "slack-app-manifest.json" in path.read_text(encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    slack = load_config(path, env=env).channels.slack
    assert not slack.enabled and slack.mode == "socket" and slack.channel_policy == "mention"
    assert slack.bot_token.get_secret_value() == "xoxb-1"
    assert slack.app_token.get_secret_value() == "xapp-1"


def test_starter_names_discord_disabled_with_its_token_from_the_environment(
    tmp_path: Path,
) -> None:
    path = write_starter(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "Message Content intent" in text and "facio doctor" in text
    config = load_config(path, env={"DISCORD_BOT_TOKEN": "from-env"})
    discord = config.channels.discord
    assert not discord.enabled and discord.guild_policy == "mention"
    assert discord.token.get_secret_value() == "from-env"
