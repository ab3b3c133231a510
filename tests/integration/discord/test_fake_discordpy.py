"""A real discord.py ``Client`` against the fake Discord: the seams facio's channel will use.

Login over REST, READY/GUILD_CREATE over the zlib-stream gateway, ``on_message``,
a reply with a view of persistent ``DynamicItem`` buttons, a click answered in
the window after a client restart, ephemeral answers, a 429 waited out,
resume after a dropped socket, re-identify after INVALID_SESSION, a zombie
connection, ``PrivilegedIntentsRequired``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakes.discord_client import discord_endpoints
from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord.fake_world import World, make_world, new_client, running

MESSAGES = "POST /channels/{channel_id}/messages"
STREAMS = ("zlib-stream", "zstd-stream")


CHOICES = ("approve", "reject", "session", "always")
Button = discord.ui.Button[Any]


class Decision(discord.ui.DynamicItem[Button], template=r"ap:(?P<id>\w+):(?P<choice>\w+)"):
    """An approval button: the custom_id carries only the approval id and the choice."""

    def __init__(self, approval: str, choice: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=choice.title(),
                custom_id=f"ap:{approval}:{choice}",
                style=discord.ButtonStyle.primary,
            )
        )
        self.approval, self.choice = approval, choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Decision:
        return cls(match["id"], match["choice"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.user.name == "bob":
            await interaction.response.send_message("Not yours to decide.", ephemeral=True)
            return
        await interaction.response.edit_message(
            content=f"{self.choice} by {interaction.user.name}", view=None
        )


def card(approval: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for choice in CHOICES:
        view.add_item(Decision(approval, choice))
    return view


@pytest.fixture
def world() -> Iterator[World]:
    with (
        FakeDiscord(heartbeat_interval=0.5) as fake,
        discord_endpoints(fake.api_base, fake.gateway_url),
    ):
        yield make_world(fake)
        assert not fake.errors


async def test_logs_in_and_sees_its_guild(world: World) -> None:
    fake = world.fake
    async with running(fake, new_client()) as client:
        assert client.user is not None and client.user.id == fake.bot.id
        assert [g.name for g in client.guilds] == ["Team"]
        assert client.get_channel(world.general.id) is not None
        assert client.application_id == fake.application_id
    keys = [c.key for c in fake.calls()]
    assert keys[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    first = fake.connections()[0]
    assert first.path == "/gateway"
    # zstd-stream when zstandard (or Python 3.14's compression.zstd) is importable
    assert first.query in [{"v": "10", "encoding": "json", "compress": c} for c in STREAMS]
    assert first.heartbeats >= 1
    # Client.close() asks for 1000, but discord.py's reader task, woken by aiohttp, closes
    # first with 4000: the session stays resumable, as after any disconnect
    assert await fake.until(lambda: fake.connections()[0].close_code) in (1000, 4000)


async def test_on_message_then_a_reply_with_buttons(world: World) -> None:
    fake, seen = world.fake, asyncio.Queue[discord.Message]()
    client = new_client()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)
        if message.author.id == world.alice.id:
            await message.reply("Approve?", view=card("a1"))

    async with running(fake, client):
        pushed = fake.push_message(world.general, world.alice, f"{fake.bot.mention} run it")
        got = await asyncio.wait_for(seen.get(), 5)
        assert got.content == pushed["content"] and got.author.name == "alice"
        assert client.user in got.mentions
        own = await asyncio.wait_for(seen.get(), 5)  # the bot's own message comes back
        assert own.author == client.user
    [reply] = fake.sent(world.general.id)
    assert reply["message_reference"]["message_id"] == pushed["id"]
    buttons = reply["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == [f"ap:a1:{c}" for c in CHOICES]


async def test_a_too_long_button_label_is_refused_like_discord(world: World) -> None:
    fake = world.fake
    async with running(fake, new_client()) as client:
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="x" * 81, custom_id="long"))
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send("card", view=view)
        assert refused.value.status == 400 and refused.value.code == 50035
        assert "components.0.components.0.label" in refused.value.text
        with pytest.raises(discord.HTTPException) as empty:
            await channel.send("")
        assert empty.value.code == 50006
    assert fake.sent(world.general.id) == []


async def test_a_click_after_a_restart_routes_to_the_dynamic_item(world: World) -> None:
    fake = world.fake
    async with running(fake, new_client()) as client:
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Approve `rm -rf build`?", view=card("a2"))
    restarted = new_client()
    restarted.add_dynamic_items(Decision)
    async with running(fake, restarted):
        click = fake.click(fake.message(sent.id), "ap:a2:approve", world.alice)
        answer = await fake.answered(click)
        assert answer.type == 7 and answer.after < fake.interaction_window
    decided = fake.message(sent.id)
    assert decided["content"] == "approve by alice" and decided["components"] == []
    assert [v.by for v in fake.history(sent.id)] == ["create", "interaction"]
    with pytest.raises(AssertionError, match="no clickable component"):
        fake.click(decided, "ap:a2:approve", world.alice)  # the buttons are gone


async def test_a_foreign_clicker_gets_an_ephemeral_refusal(world: World) -> None:
    fake = world.fake
    client = new_client()
    client.add_dynamic_items(Decision)
    async with running(fake, client):
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Approve?", view=card("a3"))
        click = fake.click(fake.message(sent.id), "ap:a3:reject", world.bob)
        answer = await fake.answered(click)
    assert answer.type == 4 and answer.data is not None and answer.data["flags"] == 64
    [refusal] = fake.ephemerals(world.bob.id)
    assert refusal["content"] == "Not yours to decide."
    assert fake.sent(world.general.id)[0]["components"]  # the card is untouched
    assert refusal["id"] not in [m["id"] for m in fake.messages(world.general.id)]


async def test_an_answer_after_the_window_is_an_unknown_interaction(world: World) -> None:
    fake, failures = world.fake, asyncio.Queue[BaseException]()
    fake.interaction_window = 0.3

    class Slow(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"slow:(?P<n>\d+)"):
        @classmethod
        async def from_custom_id(cls, interaction: Any, item: Any, match: re.Match[str]) -> Slow:
            return cls(discord.ui.Button(label="Slow", custom_id=f"slow:{match['n']}"))

        async def callback(self, interaction: discord.Interaction[Any]) -> None:
            await asyncio.sleep(0.5)
            try:
                await interaction.response.defer()
            except discord.NotFound as exc:
                await failures.put(exc)

    client = new_client()
    client.add_dynamic_items(Slow)
    async with running(fake, client):
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Slow", custom_id="slow:1"))
        sent = await channel.send("slow", view=view)
        click = fake.click(fake.message(sent.id), "slow:1", world.alice)
        refused = await asyncio.wait_for(failures.get(), 5)
    assert isinstance(refused, discord.NotFound) and refused.code == 10062
    [late] = fake.callbacks(click)
    assert late.status == 404 and late.code == 10062 and late.after >= 0.5


async def test_a_429_is_waited_out(world: World) -> None:
    fake = world.fake
    async with running(fake, new_client()) as client:
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail(MESSAGES, 429, retry_after=0.5)
        started = time.perf_counter()
        await channel.send("after the limit")
        assert time.perf_counter() - started >= 0.5
    limited, passed = fake.calls(MESSAGES)
    assert (limited.status, passed.status) == (429, 200)
    assert passed.at - limited.at >= 0.5
    assert [m["content"] for m in fake.sent(world.general.id)] == ["after the limit"]


async def test_a_500_is_retried_but_a_dropped_connection_is_not(world: World) -> None:
    fake = world.fake
    async with running(fake, new_client()) as client:
        channel = client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail(MESSAGES, 500)
        await channel.send("retried")  # discord.py sleeps 1 s, then tries again
        fake.drop(MESSAGES)
        with pytest.raises(aiohttp.ServerDisconnectedError):  # Linux's ECONNRESET is 104, not 54
            await channel.send("lost")
    assert [c.status for c in fake.calls(MESSAGES)] == [500, 200, 0]
    assert [m["content"] for m in fake.sent(world.general.id)] == ["retried"]


async def test_a_dropped_socket_is_resumed_with_the_missed_events(world: World) -> None:
    fake, seen, resumed = world.fake, asyncio.Queue[str](), asyncio.Event()
    client = new_client()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message.content)

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    async with running(fake, client):
        fake.drop_gateway()
        fake.push_message(world.general, world.alice, "while you were away")
        await asyncio.wait_for(resumed.wait(), 10)
        assert await asyncio.wait_for(seen.get(), 5) == "while you were away"
    assert len([i for i in fake.identifies() if i.session_id]) == 1
    again = fake.connections()[1]
    assert again.path == "/resume" and again.resumed
    assert again.query["compress"] in STREAMS


async def test_reconnect_and_invalid_session(world: World) -> None:
    fake, resumed = world.fake, asyncio.Event()
    client = new_client()

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    async with running(fake, client):
        fake.reconnect()  # op 7: resume on resume_gateway_url
        await asyncio.wait_for(resumed.wait(), 10)
        fake.invalidate_session()  # op 9 false: a new session
        await fake.until(lambda: len([i for i in fake.identifies() if i.session_id]) == 2)
        await fake.until(lambda: len(fake.sessions()) == 1)
    assert [c.resumed for c in fake.connections()] == [False, True, False]


async def test_a_zombie_connection_is_replaced(world: World) -> None:
    fake, resumed = world.fake, asyncio.Event()
    client = new_client(heartbeat_timeout=1.0)

    @client.event
    async def on_resumed() -> None:
        resumed.set()

    async with running(fake, client):
        fake.acks = False
        await asyncio.wait_for(resumed.wait(), 10)
        fake.acks = True
    assert fake.connections()[0].close_code == 4000  # closed by the client, resumable


async def test_a_disallowed_intent_raises_privileged_intents_required() -> None:
    with (
        FakeDiscord(message_content=False, heartbeat_interval=0.5) as fake,
        discord_endpoints(fake.api_base, fake.gateway_url),
    ):
        client = new_client()
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running(fake, client):
                pass
        assert fake.identifies()[-1].close_code == 4014
        doctor = new_client()
        await doctor.login(fake.token)
        info = await doctor.application_info()
        await doctor.close()
        assert not info.flags.gateway_message_content_limited
        assert not info.flags.gateway_message_content


async def test_a_wrong_token_fails_the_login(world: World) -> None:
    client = new_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()
    assert world.fake.calls("GET /users/@me")[0].status == 401
