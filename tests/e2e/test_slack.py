"""Slack through the real programs: ``facio up`` (Socket Mode), ``facio gateway`` + ``facio
worker`` (HTTP mode) and ``facio doctor``, with Slack faked on loopback (its real wire format)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis

from core.tools.builtin.notes import notes_file
from tests.e2e.support import FACIO, cli_env
from tests.fakes.slack_server import FakeSlack
from tests.integration.slack.support import SCRIPT
from tests.ports import free_port


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _config(folder: Path, slack: FakeSlack, port: int, **settings: Any) -> Path:
    (folder / "script.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    channel = {
        "enabled": True,
        "botToken": "${SLACK_BOT_TOKEN}",
        "appToken": "${SLACK_APP_TOKEN}",
        "signingSecret": "${SLACK_SIGNING_SECRET}",
        "apiBase": slack.api_url,
        "streamInterval": 0.2,
        **settings,
    }
    config = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": "scripted:script.json"}},
        "channels": {"slack": channel},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": "e2e"},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _env(slack: FakeSlack, **override: str) -> dict[str, str]:
    env = {
        **cli_env(),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
    }
    env.update(override)
    return env


def _start(slack: FakeSlack, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FACIO, *args],
        env=_env(slack),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert "Traceback" not in out
    return out


def _texts(slack: FakeSlack, channel: str, thread: str | None = None) -> list[str]:
    return [str(m["text"]) for m in slack.sent(channel, thread)]


def _card(slack: FakeSlack, channel: str) -> dict[str, Any] | None:
    cards = [m for m in slack.sent(channel) if "Approval needed" in str(m["text"])]
    return cards[-1] if cards else None


def _listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_facio_up_in_socket_mode_chats_refuses_and_takes_an_approval(
    slack: FakeSlack, tmp_path: Path
) -> None:
    alice, mallory = slack.add_user("alice"), slack.add_user("mallory")
    dm = slack.dm(alice)
    config = _config(tmp_path, slack, free_port(), allowFrom=[alice.id])
    up = _start(slack, "up", "--config", str(config))
    try:
        slack.wait(slack.ready_connections, timeout=60)
        slack.say(alice, dm, "hello")
        slack.wait(lambda: "Hi *there*! Ask me `anything`." in _texts(slack, dm.id), timeout=30)
        slack.say(mallory, slack.dm(mallory), "hello?")
        refusal = slack.wait(lambda: _texts(slack, slack.dm(mallory).id))
        assert f"<@{mallory.id}>" in refusal[0]
        slack.say(alice, dm, "remember to water the plants")
        card = slack.wait(lambda: _card(slack, dm.id))
        slack.click(alice, dm, card["ts"], "facio.approval.approve")
        slack.wait(lambda: "Done, saved." in _texts(slack, dm.id))
        slack.wait(lambda: slack.message(dm.id, card["ts"]).text.endswith("Approved by @alice"))
    finally:
        out = _stop(up)
    for secret in (slack.bot_token, slack.app_token, slack.signing_secret):
        assert secret not in out  # no token is ever logged
    note = notes_file(tmp_path / "ws", f"slack:{slack.team_id}:{dm.id}")
    assert "water the plants" in note.read_text()


def test_gateway_and_worker_processes_in_http_mode_answer_a_thread_and_an_approver(
    slack: FakeSlack, tmp_path: Path, redis_url: str
) -> None:
    SyncRedis.from_url(redis_url).flushall()
    bob, boss = slack.add_user("bob"), slack.add_user("boss")
    general = slack.add_channel("general", members=[bob, boss])
    port = free_port()
    config = _config(
        tmp_path, slack, port, mode="http", allowFrom=[bob.id, boss.id], approvers=[boss.id]
    )
    data = json.loads(config.read_text())
    data["redis"] = {"url": redis_url}
    config.write_text(json.dumps(data))
    gateway = _start(slack, "gateway", "--config", str(config))
    worker = _start(slack, "worker", "--config", str(config))
    try:
        deadline = time.monotonic() + 60
        while not _listening(f"http://127.0.0.1:{port}/healthz"):
            assert time.monotonic() < deadline, "the gateway never listened"
            time.sleep(0.1)
        slack.set_request_url(f"http://127.0.0.1:{port}/slack/events")
        said = slack.say(bob, general, f"<@{slack.bot_user_id}> remember the retro is on Friday")
        card = slack.wait(lambda: _card(slack, general.id), timeout=30)
        assert card["thread_ts"] == said.ts and "Asked by @bob" in json.dumps(card["blocks"])
        slack.click(boss, general, card["ts"], "facio.approval.approve")
        slack.wait(lambda: "Done, saved." in _texts(slack, general.id, said.ts), timeout=30)
        slack.wait(lambda: slack.message(general.id, card["ts"]).text.endswith("Approved by @boss"))
    finally:
        _stop(worker)
        _stop(gateway)
    assert all(d.mode == "http" and d.acked for d in said.deliveries)


def _doctor(config: Path, slack: FakeSlack, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACIO, "doctor", "--config", str(config)],
        env=_env(slack, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_names_bad_tokens_a_missing_scope_and_an_unreachable_api(
    slack: FakeSlack, tmp_path: Path
) -> None:
    config = _config(tmp_path, slack, free_port())
    good = _doctor(config, slack)
    assert good.returncode == 0, good.stdout
    assert f"ok    slack: @facio in Facio Test via {slack.api_url} (socket)" in good.stdout

    bad_bot = _doctor(config, slack, SLACK_BOT_TOKEN="xoxb-not-the-token")
    assert "FAIL  slack: the Slack bot token was refused" in bad_bot.stdout
    swapped = _doctor(config, slack, SLACK_BOT_TOKEN=slack.app_token)
    assert "FAIL  slack: channels.slack.botToken is not a bot token" in swapped.stdout
    bad_app = _doctor(config, slack, SLACK_APP_TOKEN="xapp-1-nope")
    assert "FAIL  slack: the Slack app token was refused" in bad_app.stdout
    for run in (bad_bot, swapped, bad_app):
        assert run.returncode == 1
        assert "not-the-token" not in run.stdout + run.stderr
        assert slack.app_token not in run.stdout + run.stderr

    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    offline = _doctor(_config(tmp_path, slack, free_port(), apiBase=nowhere), slack)
    assert offline.returncode == 1 and f"FAIL  slack: cannot reach {nowhere}" in offline.stdout


def test_doctor_names_a_missing_scope(tmp_path: Path) -> None:
    scopes = ("chat:write", "im:history", "app_mentions:read", "users:read")
    with FakeSlack(scopes=scopes) as slack:
        run = _doctor(_config(tmp_path, slack, free_port()), slack)
    assert run.returncode == 1
    assert "FAIL  slack: the Slack app lacks the scope(s) channels:history" in run.stdout
    assert "files:read" in run.stdout and "reactions:write" in run.stdout
