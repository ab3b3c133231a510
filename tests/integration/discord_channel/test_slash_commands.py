"""facio's chat commands as Discord slash commands (channels/discord/commands.py):
registered when the gateway connects, run as if typed, answered within the window."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from channels.chat.commands import MENU
from channels.discord.commands import command_text, definitions
from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord_channel.support import (
    World,
    dc_config,
    running,
    texts,
    world,
)
from workers import keys

PUT = "PUT /applications/{application_id}/commands"
GET = "GET /applications/{application_id}/commands"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as made:
        yield made


def _names(fake: FakeDiscord) -> set[str]:
    return {c["name"] for c in fake.commands()}


async def test_the_commands_are_registered_once_and_others_are_kept(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    own = {"name": "weather", "description": "The application's own command", "type": 1}
    with fake._lock:
        fake._state.commands = [{"id": "1", "application_id": "2", "version": "3", **own}]
    async with running(dc_config(tmp_path, w), redis_url):
        await fake.until(lambda: len(fake.calls(PUT)) == 1)
        await fake.until(lambda: _names(fake) == {e.name for e in MENU} | {"weather"})
    unschedule = next(c for c in fake.commands() if c["name"] == "unschedule")
    assert unschedule["options"] == [
        {"type": 3, "name": "id", "description": "The ID to use (see /help)", "required": True}
    ]
    assert all(1 <= len(c["description"]) <= 100 for c in fake.commands())
    weather = next(c for c in fake.commands() if c["name"] == "weather")
    assert weather["description"] == own["description"]
    # a gateway that connects again finds them there: it reads, it does not write
    gets = len(fake.calls(GET))
    async with running(dc_config(tmp_path, w), redis_url):
        await fake.until(lambda: len(fake.calls(GET)) > gets)
        await asyncio.sleep(0.5)  # a write would follow the read at once
    assert len(fake.calls(PUT)) == 1


async def test_slash_commands_run_as_typed_ones_and_are_answered_privately(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        await fake.until(lambda: _names(fake) >= {"help", "stop"})
        helped = fake.command(dm.id, "help", w.alice)
        answer = await fake.answered(helped)
        assert answer.type == 4 and answer.after < 3.0
        shown = await fake.until(lambda: texts(fake, dm.id))
        assert "/unschedule ID" in shown[0] and str(w.alice.id) in shown[0]
        assert [m["content"] for m in fake.ephemerals(w.alice.id)] == ["/help ✓"]
        fake.push_message(dm, w.alice, "please answer slowly")
        await fake.until(lambda: fake.typing(dm.id))
        fake.command(dm.id, "stop", w.alice)
        await fake.until(lambda: "⏹ Stopped." in texts(fake, dm.id))
        fake.command(w.general.id, "unschedule", w.alice, id="nope")
        said = await fake.until(lambda: texts(fake, w.general.id))
        assert "nope" in said[0]
        fake.command(w.general.id, "new", w.alice)
        await fake.until(lambda: [t for t in texts(fake, w.general.id) if t.startswith("🆕")])


async def test_a_stranger_s_slash_command_runs_nothing_and_is_refused_privately(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.mallory)
    async with running(dc_config(tmp_path, w), redis_url):
        await fake.until(lambda: "new" in _names(fake))
        for where in (dm.id, w.general.id):  # the menu lists the commands to everyone
            answer = await fake.answered(fake.command(where, "new", w.mallory))
            assert answer.type == 4 and answer.data is not None
            assert answer.data["flags"] & 64  # only mallory sees it
        mine = fake.dm(w.alice)
        fake.push_message(mine, w.alice, "unrelated")  # something to wait for, after the rest
        await fake.until(lambda: texts(fake, mine.id))
    refusals = [m["content"] for m in fake.ephemerals(w.mallory.id)]
    assert len(refusals) == 2
    assert all("channels.discord.allowFrom" in r and str(w.mallory.id) in r for r in refusals)
    assert texts(fake, dm.id) == [] and texts(fake, w.general.id) == []  # nothing ran


def test_command_data_reads_back_as_the_text_a_person_types() -> None:
    assert command_text({"name": "stop", "type": 1}) == "/stop"
    assert command_text({"name": "unschedule", "options": [{"name": "id", "value": " ab "}]}) == (
        "/unschedule ab"
    )
    for data in ({"name": "weather"}, {"name": "stop", "type": 2}, {}):
        assert command_text(data) is None
    # every registered command reads back as one the chat layer runs
    for command in definitions():
        text = command_text(
            {**command, "options": [{"value": "x"}] * len(command.get("options", []))}
        )
        assert text is not None and text.split()[0] == "/" + command["name"]


async def test_a_slash_command_in_a_thread_is_the_thread_s(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    thread = fake.add_thread(w.general, "plans", owner=w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        await fake.until(lambda: "new" in _names(fake))
        await fake.answered(fake.command(thread.id, "new", w.alice))
        started = await fake.until(lambda: [t for t in texts(fake, thread.id) if "🆕" in t])
    assert started and texts(fake, w.general.id) == []
    redis = Redis.from_url(redis_url)
    # the reset was the thread's session's (its events), not its channel's
    assert await redis.exists(keys.events(f"discord:{w.team.id}:{w.general.id}:thread:{thread.id}"))
    assert not await redis.exists(keys.events(f"discord:{w.team.id}:{thread.id}"))
    await redis.aclose()
