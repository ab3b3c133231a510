"""What people do, as a real discord.py ``Client`` sees it: DMs, replies, threads, other bots,
attachments — and two gateway connections of one token, both answering a click."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import discord
import pytest

from tests.fakes.discord_client import discord_endpoints
from tests.fakes.discord_server import FakeDiscord
from tests.integration.discord.fake_world import World, make_world, new_client, running


@pytest.fixture
def world() -> Iterator[World]:
    with (
        FakeDiscord(heartbeat_interval=0.5) as fake,
        discord_endpoints(fake.api_base, fake.gateway_url),
    ):
        yield make_world(fake)
        assert not fake.errors


def collecting(client: discord.Client) -> asyncio.Queue[discord.Message]:
    seen: asyncio.Queue[discord.Message] = asyncio.Queue()

    @client.event
    async def on_message(message: discord.Message) -> None:
        await seen.put(message)

    return seen


async def test_dms_both_ways(world: World) -> None:
    fake, client = world.fake, new_client()
    seen = collecting(client)
    async with running(fake, client):
        fake.push_message(fake.dm(world.alice), world.alice, "hello in private")
        got = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(got.channel, discord.DMChannel) and got.guild is None
        assert got.content == "hello in private"
        await got.channel.send(f"Sorry, I don't know you (your id is {world.alice.id}).")
        stranger = await client.fetch_user(world.bob.id)  # GET /users/{user_id}
        await stranger.send("hi bob")  # opens the DM over POST /users/@me/channels
    assert fake.sent(fake.dm(world.alice).id)[0]["content"].startswith("Sorry")
    assert set(fake.dms()) == {world.alice.id, world.bob.id}
    assert [m["content"] for m in fake.sent(fake.dms()[world.bob.id])] == ["hi bob"]


async def test_replies_threads_bots_and_attachments(world: World) -> None:
    fake, client = world.fake, new_client()
    seen = collecting(client)
    async with running(fake, client) as running_client:
        channel = running_client.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        mine = await channel.send("I said this")
        await asyncio.wait_for(seen.get(), 5)  # our own message, back from the gateway
        fake.push_message(world.general, world.alice, "replying", reply_to=fake.message(mine.id))
        reply = await asyncio.wait_for(seen.get(), 5)
        assert reply.reference is not None and reply.reference.message_id == mine.id
        assert running_client.user in reply.mentions  # replies ping the author by default
        helper = fake.add_user("helper", bot=True)
        fake.push_message(world.general, helper, "beep")
        assert (await asyncio.wait_for(seen.get(), 5)).author.bot
        plan = fake.add_thread(world.general, "plan", owner=world.alice)
        await fake.until(lambda: running_client.get_channel(plan.id))
        notes = fake.attachment(plan, "notes.txt", b"step one")
        fake.push_message(plan, world.alice, "see notes", attachments=[notes])
        in_thread = await asyncio.wait_for(seen.get(), 5)
        assert isinstance(in_thread.channel, discord.Thread)
        assert in_thread.channel.parent_id == world.general.id
        assert await in_thread.attachments[0].read() == b"step one"
        fake.edit_message(fake.message(in_thread.id), "see notes (edited)")
        edited = await running_client.wait_for("message_edit", timeout=5)
        assert edited[1].content == "see notes (edited)"


class Approve(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ok:(?P<id>\w+)"):
    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: Any) -> Approve:
        return cls(discord.ui.Button(label="OK", custom_id=f"ok:{match['id']}"))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await interaction.response.edit_message(content="approved", view=None)
        except discord.HTTPException as exc:
            interaction.client.dispatch("refused", exc)


async def test_a_click_in_a_dm(world: World) -> None:
    fake, client = world.fake, new_client()
    client.add_dynamic_items(Approve)
    async with running(fake, client):
        person = await client.fetch_user(world.alice.id)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="OK", custom_id="ok:dm"))
        card = await person.send("Approve?", view=view)
        click = fake.click(fake.message(card.id), "ok:dm", world.alice)
        assert (await fake.answered(click)).type == 7
    assert "user" in fake.interaction(click).payload
    assert fake.message(card.id)["content"] == "approved"


async def test_two_connections_of_one_token_both_answer_and_one_is_refused(world: World) -> None:
    fake, refused = world.fake, asyncio.Queue[discord.HTTPException]()
    first, second = new_client(), new_client()
    for client in (first, second):
        client.add_dynamic_items(Approve)

        @client.event
        async def on_refused(exc: discord.HTTPException) -> None:
            await refused.put(exc)

    async with running(fake, first) as one, running(fake, second):
        assert len(fake.sessions()) == 2  # Discord lets both in
        channel = one.get_channel(world.general.id)
        assert isinstance(channel, discord.TextChannel)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="OK", custom_id="ok:1"))
        card = await channel.send("Approve?", view=view)
        click = fake.click(fake.message(card.id), "ok:1", world.alice)
        loser = await asyncio.wait_for(refused.get(), 5)
    assert loser.code == 40060
    assert sorted(c.status for c in fake.callbacks(click)) == [200, 400]  # with_response=1
