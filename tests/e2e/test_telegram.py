"""Telegram through the real programs: ``facio up``, ``facio gateway`` + ``facio worker``
and ``facio doctor``, with Telegram faked on loopback (the real Bot API wire format)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis

from core.tools.builtin.notes import notes_file
from tests.e2e.support import FACIO, cli_env, closed_port
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import group_chat, message_update, user
from tests.integration.telegram.support import SCRIPT

ALICE = user(100, "Alice", "alice")
BOB = user(200, "Bob", "bob")
BOSS = user(300, "Boss", "boss")
STRANGER = user(666, "Mallory", "mallory")
GROUP = -1002


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _config(folder: Path, tg: FakeTelegram, **telegram: Any) -> Path:
    (folder / "tg.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    settings = {
        "enabled": True,
        "token": "${TELEGRAM_BOT_TOKEN}",
        "apiBase": tg.url,
        "allowFrom": [100, "@bob"],
        "approvers": ["@boss"],
        "streamInterval": 0.2,
    }
    settings.update(telegram)
    config = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": "scripted:tg.json"}},
        "channels": {"telegram": settings},
        "gateway": {"host": "127.0.0.1", "port": closed_port(), "apiToken": "e2e"},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _start(*args: str, token: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FACIO, *args],
        env={**cli_env(), "TELEGRAM_BOT_TOKEN": token},
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


def _doctor(config: str, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACIO, "doctor", "--config", config],
        env={**cli_env(), "TELEGRAM_BOT_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _texts(tg: FakeTelegram, chat: int) -> list[str]:
    return [str(m["text"]) for m in tg.sent(chat)]


def _card(tg: FakeTelegram, chat: int) -> dict[str, Any] | None:
    cards = [m for m in tg.sent(chat) if "Approval needed" in str(m["text"])]
    return cards[-1] if cards else None


def _data(card: dict[str, Any], choice: str) -> str:
    rows = card["reply_markup"]["inline_keyboard"]
    return next(
        b["callback_data"] for row in rows for b in row if b["callback_data"].endswith(choice)
    )


def test_facio_up_chats_refuses_a_stranger_and_takes_an_approval(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    up = _start("up", "--config", str(_config(tmp_path, tg)), token=tg.token)
    try:
        tg.wait(lambda: tg.calls("getUpdates"), timeout=60)
        tg.push(message_update(ALICE, "hello"))
        tg.wait(lambda: "Hi there! Ask me anything." in _texts(tg, 100), timeout=30)
        tg.push(message_update(STRANGER, "hello?"))
        refusal = tg.wait(lambda: _texts(tg, 666))
        assert "666" in refusal[0]
        tg.push(message_update(ALICE, "remember to water the plants"))
        card = tg.wait(lambda: _card(tg, 100))
        tg.click(ALICE, 100, card["message_id"], _data(card, ":approve"))
        tg.wait(lambda: "Done, saved." in _texts(tg, 100))
        edited = tg.message(100, card["message_id"])
        assert str(edited["text"]).endswith("✅ Approved by @alice")
        assert "reply_markup" not in edited
        assert tg.answers()[0]["text"] == "Approved: it runs once."
    finally:
        out = _stop(up)
    assert tg.token not in out  # the token is never logged
    assert "water the plants" in notes_file(tmp_path / "ws", "telegram:100").read_text()


@pytest.fixture
def empty_redis_url(redis_url: str) -> str:
    """The session's Redis, emptied first: an earlier test of the same fake bot (the
    Telegram bench) leaves dedupe keys for update ids 1, 2, … that would swallow this
    test's updates as already handled."""
    client = SyncRedis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_url


def test_gateway_and_worker_processes_route_a_topic_and_an_approver_decides(
    tg: FakeTelegram, tmp_path: Path, empty_redis_url: str
) -> None:
    config = _config(tmp_path, tg)
    data = json.loads(config.read_text())
    data["redis"] = {"url": empty_redis_url}
    config.write_text(json.dumps(data))
    gateway = _start("gateway", "--config", str(config), token=tg.token)
    worker = _start("worker", "--config", str(config), token=tg.token)
    forum = group_chat(GROUP, forum=True)
    try:
        tg.wait(lambda: tg.calls("getUpdates"), timeout=60)
        text = "@facio_test_bot remember the retro is on Friday"
        tg.push(message_update(BOB, text, chat=forum, thread_id=5, topic=True))
        card = tg.wait(lambda: _card(tg, GROUP), timeout=30)
        assert card["message_thread_id"] == 5 and "Asked by @bob" in card["text"]
        tg.click(ALICE, GROUP, card["message_id"], _data(card, ":approve"))  # not a decider
        tg.wait(lambda: tg.answers())
        tg.click(BOSS, GROUP, card["message_id"], _data(card, ":approve"))
        tg.wait(lambda: "Done, saved." in _texts(tg, GROUP), timeout=30)
        assert [a["text"] for a in tg.answers()] == [
            "Only the person who asked, or an approver, can decide this.",
            "Approved: it runs once.",
        ]
        edited = tg.message(GROUP, card["message_id"])
        assert str(edited["text"]).endswith("✅ Approved by @boss")
        done = [m for m in tg.sent(GROUP) if m["text"] == "Done, saved."]
        assert done[0]["message_thread_id"] == 5
    finally:
        _stop(worker)
        _stop(gateway)


def test_doctor_reports_the_telegram_token_and_api(tg: FakeTelegram, tmp_path: Path) -> None:
    config = str(_config(tmp_path, tg))
    good = _doctor(config, tg.token)
    assert good.returncode == 0, good.stdout
    assert f"ok    telegram: @facio_test_bot via {tg.url}" in good.stdout

    refused = _doctor(config, "42:not-the-token")
    assert refused.returncode == 1
    assert "FAIL  telegram: the Telegram token was refused (401 Unauthorized)" in refused.stdout
    assert "not-the-token" not in refused.stdout + refused.stderr

    nowhere = f"http://127.0.0.1:{closed_port()}"
    offline = str(_config(tmp_path, tg, apiBase=nowhere))
    unreachable = _doctor(offline, tg.token)
    assert unreachable.returncode == 1
    assert f"FAIL  telegram: cannot reach {nowhere}" in unreachable.stdout
    assert tg.token not in unreachable.stdout + unreachable.stderr


def test_doctor_says_what_is_wrong_with_a_bad_server_and_never_shows_the_token(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    config = str(_config(tmp_path, tg))
    tg.fail_raw("getMe")  # a proxy in front of the API answers its 502 page
    html = _doctor(config, tg.token)
    assert html.returncode == 1, html.stdout
    assert (
        f"FAIL  telegram: cannot reach {tg.url} (getMe: the answer is not the Bot API's JSON: "
        "502 Bad Gateway 502 Bad Gateway nginx): check channels.telegram.apiBase"
    ) in html.stdout
    assert "Traceback" not in html.stdout + html.stderr

    tg.redirect_loop("getMe")  # aiohttp's error text is the URL, token and all
    loop = _doctor(config, tg.token)
    assert loop.returncode == 1, loop.stdout
    assert f"FAIL  telegram: cannot reach {tg.url} (getMe: TooManyRedirects" in loop.stdout
    assert "/bot<token>/getMe" in loop.stdout
    assert tg.token.split(":")[1] not in loop.stdout + loop.stderr
