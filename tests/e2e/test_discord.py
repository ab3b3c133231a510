"""Discord through the real programs: ``facio up``, ``facio gateway`` + ``facio worker`` and
``facio doctor``, with Discord faked on loopback (its REST API and gateway websocket)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis

from tests.e2e.support import FACIO, cli_env, closed_port
from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord_channel.support import SCRIPT, World, make_world


@pytest.fixture
def w() -> Iterator[World]:
    with FakeDiscord(heartbeat_interval=1.0) as fake:
        yield make_world(fake)
        assert not fake.errors, fake.errors


def _config(folder: Path, w: World, *, redis_url: str = "", **discord: Any) -> Path:
    (folder / "dc.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    settings = {
        "enabled": True,
        "token": "${DISCORD_BOT_TOKEN}",
        "apiBase": w.fake.api_base,
        "gatewayUrl": w.fake.gateway_url,
        "allowFrom": [w.alice.id, "bob"],
        "approvers": ["@boss"],
        "streamInterval": 0.2,
    }
    settings.update(discord)
    config: dict[str, Any] = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": "scripted:dc.json"}},
        "channels": {"discord": settings},
        "gateway": {"host": "127.0.0.1", "port": closed_port(), "apiToken": "e2e"},
    }
    if redis_url:
        config["redis"] = {"url": redis_url}
        config["agent"] = {"approvalHold": 0}
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _start(*args: str, token: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FACIO, *args],
        env={**cli_env(), "DISCORD_BOT_TOKEN": token},
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


def _texts(w: World, channel_id: int) -> list[str]:
    return [str(m["content"]) for m in w.fake.sent(channel_id)]


def _card(w: World, channel_id: int) -> dict[str, Any] | None:
    cards = [m for m in w.fake.sent(channel_id) if "Approval needed" in str(m["content"])]
    return cards[-1] if cards else None


def _button(card: dict[str, Any], choice: str) -> str:
    ids = [b["custom_id"] for row in card["components"] for b in row["components"]]
    return next(i for i in ids if i.endswith(f":{choice}"))


def _connected(w: World, count: int = 1) -> None:
    """The bot is identified and has its guild (GUILD_CREATE follows READY at once)."""
    w.fake.wait(lambda: len(w.fake.identifies()) >= count and w.fake.sessions(), timeout=60)


def test_facio_up_chats_refuses_a_stranger_survives_bad_payloads_and_takes_an_approval(
    w: World, tmp_path: Path
) -> None:
    fake = w.fake
    dm, stranger = fake.dm(w.alice), fake.dm(w.mallory)
    up = _start("up", "--config", str(_config(tmp_path, w)), token=fake.token)
    try:
        _connected(w)
        fake.push_message(dm, w.alice, "hello")
        fake.wait(lambda: "Hi **there**! Ask me `anything`." in _texts(w, dm.id), timeout=30)
        fake.push_message(stranger, w.mallory, "hello?")
        refusal = fake.wait(lambda: _texts(w, stranger.id))
        assert str(w.mallory.id) in refusal[0]
        fake.push_event("MESSAGE_CREATE", {"id": "not a snowflake", "author": None})
        fake.push_event("INTERACTION_CREATE", {"type": 3, "data": None})
        fake.push_message(dm, w.alice, "remember to water the plants")
        card = fake.wait(lambda: _card(w, dm.id))
        click = fake.click(card, _button(card, "approve"), w.alice)
        fake.wait(lambda: "Done, saved." in _texts(w, dm.id), timeout=30)
        assert fake.interaction(click).callbacks[0].type == 6
        edited = fake.wait(
            lambda: (
                (m := fake.message(int(card["id"])))["content"].endswith("Approved by @alice") and m
            )
        )
        assert edited["components"] == []
        assert len(fake.identifies()) == 1  # the bad payloads did not cost the connection
    finally:
        out = _stop(up)
    assert fake.token not in out  # the token is never logged
    assert "a malformed MESSAGE_CREATE event was skipped" in out
    notes = (tmp_path / "ws" / "notes").glob("discord%3A*.md")
    assert any("water the plants" in p.read_text() for p in notes)


@pytest.fixture
def empty_redis_url(redis_url: str) -> str:
    client = SyncRedis.from_url(redis_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_url


def test_gateway_and_worker_processes_a_thread_an_approver_and_a_restart_with_a_card_pending(
    w: World, tmp_path: Path, empty_redis_url: str
) -> None:
    fake = w.fake
    thread = fake.add_thread(w.general, "retro", owner=w.bob)
    config = str(_config(tmp_path, w, redis_url=empty_redis_url))
    gateway = _start("gateway", "--config", config, token=fake.token)
    worker = _start("worker", "--config", config, token=fake.token)
    try:
        _connected(w)
        text = f"{fake.bot.mention} remember the retro is on Friday"
        fake.push_message(thread, w.bob, text)
        card = fake.wait(lambda: _card(w, thread.id), timeout=30)
        assert "Asked by @bob" in card["content"]
        refused = fake.click(card, _button(card, "approve"), w.alice)  # may talk, not decide
        fake.wait(lambda: fake.ephemerals(w.alice.id))
        assert fake.interaction(refused).callbacks[0].type == 4
        _stop(gateway)  # the card waits, parked (approvalHold 0); the gateway restarts
        gateway = _start("gateway", "--config", config, token=fake.token)
        _connected(w, 2)
        fake.click(card, _button(card, "approve"), w.boss)
        fake.wait(lambda: "Done, saved." in _texts(w, thread.id), timeout=30)
        fake.wait(lambda: fake.message(int(card["id"]))["content"].endswith("✅ Approved by @boss"))
        assert [m["content"] for m in fake.ephemerals(w.alice.id)] == [
            "Only the person who asked, or an approver, can decide this."
        ]
    finally:
        _stop(worker)
        _stop(gateway)


def test_facio_up_says_the_message_content_intent_is_missing(tmp_path: Path) -> None:
    with FakeDiscord(heartbeat_interval=1.0, message_content=False) as fake:
        w = make_world(fake)
        up = _start("up", "--config", str(_config(tmp_path, w)), token=fake.token)
        try:
            fake.wait(lambda: [c for c in fake.connections() if c.close_code == 4014], timeout=60)
        finally:
            out = _stop(up)
    assert "the Message Content intent is not enabled for this application" in out
    assert "Privileged Gateway Intents → Message Content Intent" in out


def _doctor(config: str, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACIO, "doctor", "--config", config],
        env={**cli_env(), "DISCORD_BOT_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_checks_the_token_the_api_and_the_intent_and_prints_the_invite(
    w: World, tmp_path: Path
) -> None:
    fake = w.fake
    config = str(_config(tmp_path, w))
    good = _doctor(config, fake.token)
    assert good.returncode == 0, good.stdout
    assert f"ok    discord: @facio-test via {fake.api_base}" in good.stdout
    invite = (
        f"ok    discord invite: https://discord.com/oauth2/authorize?client_id="
        f"{fake.application_id}&scope=bot+applications.commands&permissions=274877975552"
    )
    assert invite in good.stdout

    refused = _doctor(config, fake.token[:-4] + "abcd")
    assert refused.returncode == 1
    assert "FAIL  discord: the Discord token was refused (401 Unauthorized)" in refused.stdout
    assert fake.token[-10:] not in refused.stdout + refused.stderr

    nowhere = f"http://127.0.0.1:{closed_port()}/api/v10"
    offline = str(_config(tmp_path, w, apiBase=nowhere))
    unreachable = _doctor(offline, fake.token)
    assert unreachable.returncode == 1
    assert f"FAIL  discord: cannot reach {nowhere}" in unreachable.stdout
    assert "Traceback" not in unreachable.stdout + unreachable.stderr

    with FakeDiscord(message_content=False) as other:
        no_intent = _doctor(str(_config(tmp_path, make_world(other))), other.token)
    assert no_intent.returncode == 1
    assert "FAIL  discord: @facio-test: the Message Content intent is not enabled" in (
        no_intent.stdout
    )
