"""``facio init`` then a first run, offline; ``facio doctor`` on good and bad configs."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

from tests.e2e.support import ROOT, closed_port, run_cli
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import FakeTelegram


def test_init_then_run_works_offline(tmp_path: Path) -> None:
    made = run_cli(["init", str(tmp_path / "bot")], config=None)
    assert made.returncode == 0, made.stderr
    config = tmp_path / "bot" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the API token
    assert (tmp_path / "bot" / "workspace").is_dir()
    assert "//" in config.read_text()  # commented starter

    answered = run_cli(["run", "hello"], config=str(config))
    assert answered.returncode == 0, answered.stderr
    assert "offline demo bot" in answered.stdout
    sessions = tmp_path / "bot" / "workspace" / ".facio" / "sessions"
    assert [p.name for p in sessions.iterdir()] == ["cli%3Adefault.jsonl"]

    again = run_cli(["init", str(tmp_path / "bot")], config=None)
    assert again.returncode != 0
    assert "exists" in (again.stderr + again.stdout)


def test_doctor_passes_on_the_demo(tmp_path: Path) -> None:
    result = run_cli(["doctor"], workspace=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "ok    config:" in result.stdout and "scripted:demo" in result.stdout
    (sandbox,) = [line for line in result.stdout.splitlines() if "code sandbox:" in line]
    assert sandbox.startswith(("ok    code sandbox: bubblewrap", "warn  code sandbox:"))


def test_doctor_names_the_broken_key(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"agent": {"maxTurns": 0}}))
    result = run_cli(["doctor"], config=str(config))
    assert result.returncode == 1
    assert "FAIL  config:" in result.stdout and "agent.maxTurns" in result.stdout


def test_doctor_reports_an_unreachable_model_api(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    base = f"http://127.0.0.1:{closed_port()}/v1"
    config.write_text(
        json.dumps(
            {
                "agent": {"model": "openai:gpt-x"},
                "providers": {"openai": {"apiKey": "sk-secret-123", "apiBase": base}},
            }
        )
    )
    result = run_cli(["doctor"], config=str(config))
    assert result.returncode == 1
    assert "FAIL  model provider" in result.stdout and "cannot reach" in result.stdout
    assert "sk-secret-123" not in result.stdout + result.stderr


def test_doctor_lists_mcp_servers_and_their_status(tmp_path: Path) -> None:
    fake = str(ROOT / "tests" / "fakes" / "mcp_server.py")
    config = tmp_path / "config.json"
    servers = {
        "fake": {"command": sys.executable, "args": [fake], "env": {"TOKEN": "mcp-secret-42"}},
        "broken": {"command": sys.executable, "args": [fake, "--crash"]},
        "web": {"url": f"http://127.0.0.1:{closed_port()}/mcp"},
    }
    config.write_text(json.dumps({"bots": {"main": {"preset": "demo"}}, "mcpServers": servers}))
    # three MCP servers start and stop: ~16 s on two loaded cores, too close to 20
    result = run_cli(["doctor"], config=str(config), workspace=tmp_path / "ws", timeout=60)
    assert result.returncode == 1, result.stdout
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert lines["ok    mcp server fake"].startswith("ok    mcp server fake: stdio, 13 tool(s)")
    assert "fake_echo" in lines["ok    mcp server fake"]
    broken = lines["FAIL  mcp server broken"]
    assert "exited" in broken and "crash requested" in broken
    assert "cannot connect to http://127.0.0.1:" in lines["FAIL  mcp server web"]
    assert "mcp-secret-42" not in result.stdout + result.stderr


def _enable_every_channel(config: Path, api_bases: list[str], allow: list[str]) -> None:
    """Turn on the starter's three channels as its comments say, pointed at the fakes."""
    text = config.read_text(encoding="utf-8")
    assert text.count('"enabled": false') == 3 and text.count('"bot": "main",') == 3
    text = text.replace('"enabled": false', '"enabled": true')
    for base, who in zip(api_bases, allow, strict=True):  # telegram, slack, discord in order
        text = text.replace('"bot": "main",', f'"bot": "MAIN", "apiBase": "{base}",', 1)
        text = text.replace('"allowFrom": [],', f'"allowFrom": [{who}],', 1)
    config.write_text(text.replace('"bot": "MAIN"', '"bot": "main"'), encoding="utf-8")


def test_the_starters_three_channels_turn_on_as_its_comments_say(tmp_path: Path) -> None:
    """Telegram, Slack and Discord are all built: enabling them in the starter works, and
    doctor warns about each one nobody is allowed to talk to."""
    with FakeTelegram() as tg, FakeSlack() as slack, FakeDiscord() as discord:
        env = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "DISCORD_BOT_TOKEN": discord.token,
        }
        bases = [tg.url, slack.api_url, discord.api_base]
        nobody = tmp_path / "nobody"
        assert run_cli(["init", str(nobody)], config=None).returncode == 0
        _enable_every_channel(nobody / "config.json", bases, ["", "", ""])
        # three platform libraries to import and three logins: slow on a loaded machine
        warned = run_cli(["doctor"], config=str(nobody / "config.json"), env=env, timeout=90)

        someone = tmp_path / "someone"
        assert run_cli(["init", str(someone)], config=None).returncode == 0
        _enable_every_channel(someone / "config.json", bases, ['"@alice"', '"U1"', '"alice"'])
        allowed = run_cli(["doctor"], config=str(someone / "config.json"), env=env, timeout=90)

    assert warned.returncode == 0, warned.stdout  # a warning is no failure
    for line in (
        f"ok    telegram: @facio_test_bot via {tg.url}",
        f"ok    slack: @facio in Facio Test via {slack.api_url} (socket)",
        f"ok    discord: @facio-test via {discord.api_base}",
    ):
        assert line in warned.stdout and line in allowed.stdout
    warnings = [line for line in warned.stdout.splitlines() if line.startswith("warn  ")]
    for name in ("telegram", "slack", "discord"):
        (line,) = [w for w in warnings if w.startswith(f"warn  {name} allowFrom: ")]
        assert f"channels.{name}.allowFrom is empty: nobody can talk to the bot" in line
    assert allowed.returncode == 0, allowed.stdout
    assert "allowFrom" not in allowed.stdout


def test_a_channel_facio_does_not_have_fails_doctor_and_up(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    channels = {"matrix": {"enabled": True, "token": "x"}}
    config.write_text(json.dumps({"bots": {"main": {"preset": "demo"}}, "channels": channels}))
    doctor = run_cli(["doctor"], config=str(config))
    assert doctor.returncode == 1
    assert "FAIL  config:" in doctor.stdout and "channels.matrix: unknown key" in doctor.stdout
    assert "known keys here: telegram, slack, discord" in doctor.stdout
    up = run_cli(["up"], config=str(config))
    assert up.returncode == 2 and "channels.matrix: unknown key" in up.stderr
    assert "Traceback" not in up.stderr
