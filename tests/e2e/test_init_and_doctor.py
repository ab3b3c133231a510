"""``facio init`` then a first run, offline; ``facio doctor`` on good and bad configs."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

from tests.e2e.support import ROOT, closed_port, run_cli


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
    result = run_cli(["doctor"], config=str(config), workspace=tmp_path / "ws")
    assert result.returncode == 1, result.stdout
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert lines["ok    mcp server fake"].startswith("ok    mcp server fake: stdio, 13 tool(s)")
    assert "fake_echo" in lines["ok    mcp server fake"]
    broken = lines["FAIL  mcp server broken"]
    assert "exited" in broken and "crash requested" in broken
    assert "cannot connect to http://127.0.0.1:" in lines["FAIL  mcp server web"]
    assert "mcp-secret-42" not in result.stdout + result.stderr
