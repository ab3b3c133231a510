"""Talking to the bot in Discord: DMs, guild channels, threads, strangers, bots, commands."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.paths import session_name
from tests.integration.discord_channel.support import (
    PINGS,
    World,
    channel_of,
    dc_config,
    running,
    texts,
    world,
)


@pytest.fixture
def w() -> Iterator[World]:
    with world() as made:
        yield made


async def test_a_dm_is_answered_in_one_message_with_markdown_kept(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url) as gateway:
        fake.push_message(dm, w.alice, "hello")
        await fake.until(lambda: "Hi **there**! Ask me `anything`." in texts(fake, dm.id))
        assert await channel_of(gateway).health() == "ok"
        # the bot's own answer came back as a MESSAGE_CREATE: it is not a new turn
        await asyncio.sleep(0.3)
    [answer] = fake.sent(dm.id)
    assert "message_reference" not in answer  # a DM needs no reply
    assert fake.allowed_mentions(int(answer["id"])) == {"parse": [], "replied_user": True}
    assert fake.typing(dm.id), "no typing indicator while the agent worked"


async def test_model_output_cannot_ping_anyone(w: World, redis_url: str, tmp_path: Path) -> None:
    fake = w.fake
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(w.general, w.alice, f"{fake.bot.mention} ping everyone")
        await fake.until(lambda: [t for t in texts(fake, w.general.id) if PINGS in t])
    [answer] = fake.sent(w.general.id)
    assert answer["content"] == PINGS  # Markdown and text as written…
    mentions = fake.allowed_mentions(int(answer["id"]))
    assert mentions["parse"] == [] and not mentions.get("roles") and not mentions.get("users")
    assert answer["mention_everyone"] is False and answer["mention_roles"] == []
    assert [u["id"] for u in answer["mentions"]] == [str(w.alice.id)]  # …only the reply pings


async def test_guild_channels_answer_mentions_and_replies_and_threads_are_sessions(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    thread = fake.add_thread(w.general, "plans", owner=w.alice)
    async with running(dc_config(tmp_path, w), redis_url) as gateway:
        fake.push_message(w.general, w.alice, "hello, nobody in particular")
        asked = fake.push_message(w.general, w.alice, f"{fake.bot.mention} hello")
        await fake.until(lambda: texts(fake, w.general.id))
        [answer] = fake.sent(w.general.id)
        assert answer["content"] == "Hi **there**! Ask me `anything`."
        assert answer["message_reference"]["message_id"] == asked["id"]

        fake.push_message(  # a reply that does not ping: addressed by the reply alone
            w.general, w.bob, "a reply to the bot", reply_to=answer, ping_reply=False
        )
        said = await fake.until(
            lambda: [t for t in texts(fake, w.general.id) if t.startswith("You said:")]
        )
        # in guilds the model hears who spoke
        assert said == ["You said: Bob: a reply to the bot"]

        fake.push_message(thread, w.alice, f"{fake.bot.mention} in the thread")
        in_thread = await fake.until(lambda: texts(fake, thread.id))
        keys = set(await channel_of(gateway).ctx.runtime.session_keys())
    assert in_thread == ["You said: Alice: @facio-test in the thread"]
    assert f"discord:{w.team.id}:{w.general.id}" in keys
    assert f"discord:{w.team.id}:{w.general.id}:thread:{thread.id}" in keys
    assert len(texts(fake, w.general.id)) == 2  # the unaddressed message was left alone


async def test_open_guild_policy_answers_every_message_of_allowed_people(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    async with running(dc_config(tmp_path, w, guildPolicy="open"), redis_url):
        fake.push_message(w.general, w.alice, "hello without a mention")
        await fake.until(lambda: texts(fake, w.general.id))


async def test_strangers_get_one_refusal_in_dms_and_are_ignored_in_guilds(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.mallory)
    helper = fake.add_user("helper-bot", bot=True)
    async with running(
        dc_config(tmp_path, w, allowFrom=[str(w.alice.id), str(helper.id)]), redis_url
    ):
        fake.push_message(dm, w.mallory, "hello?")
        fake.push_message(dm, w.mallory, "hello??")
        fake.push_message(w.general, w.mallory, f"{fake.bot.mention} hello")
        fake.push_message(w.general, helper, f"{fake.bot.mention} hello")  # a bot, even allowed
        refusal = await fake.until(lambda: texts(fake, dm.id))
        mine = fake.dm(w.alice)
        fake.push_message(mine, w.alice, "unrelated")  # something to wait for, after the rest
        await fake.until(lambda: texts(fake, mine.id))
    assert len(refusal) == 1 and str(w.mallory.id) in refusal[0]
    assert "channels.discord.allowFrom" in refusal[0]
    assert texts(fake, dm.id) == refusal  # one refusal, not one per message
    assert texts(fake, w.general.id) == []


async def test_commands_help_new_and_stop(w: World, redis_url: str, tmp_path: Path) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    async with running(dc_config(tmp_path, w), redis_url):
        fake.push_message(dm, w.alice, "/help")
        helped = await fake.until(lambda: texts(fake, dm.id))
        assert "/new" in helped[0] and str(w.alice.id) in helped[0]
        fake.push_message(dm, w.alice, "/stop")
        await fake.until(lambda: "Nothing is running." in texts(fake, dm.id))
        fake.push_message(dm, w.alice, "please answer slowly")
        await fake.until(lambda: fake.typing(dm.id))
        fake.push_message(dm, w.alice, "/stop")
        await fake.until(lambda: "⏹ Stopped." in texts(fake, dm.id))
        fake.push_message(w.general, w.alice, f"{fake.bot.mention} /new")
        await fake.until(lambda: [t for t in texts(fake, w.general.id) if t.startswith("🆕")])


async def test_an_attachment_is_saved_in_the_workspace(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    config = dc_config(tmp_path, w)
    note = fake.attachment(dm, "notes.txt", b"buy milk\n")
    # two pasted images carry the same name: each is kept
    pasted = [fake.attachment(dm, "image.png", bytes([i]) * 4, "image/png") for i in (1, 2)]
    async with running(config, redis_url):
        fake.push_message(dm, w.alice, "read this", attachments=[note, *pasted])
        said = await fake.until(lambda: texts(fake, dm.id))
    assert said[0].startswith("You said: read this")
    folder = config.workspace / "sessions" / session_name(f"discord:dm:{dm.id}") / "uploads"
    saved = sorted(folder.iterdir(), key=lambda p: p.name)
    by_name = {p.name.split("-", 1)[1]: p.read_bytes() for p in saved}
    assert by_name == {"notes.txt": b"buy milk\n", "2-image.png": b"\x01" * 4,
                       "3-image.png": b"\x02" * 4}  # fmt: skip
    for path in saved:
        assert f"saved at uploads/{path.name}]" in said[0]


async def test_a_too_large_attachment_is_refused_with_a_note(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    big = fake.attachment(dm, "big.bin", b"x" * 2000, "application/octet-stream")
    async with running(dc_config(tmp_path, w, maxFileSize=1000), redis_url):
        fake.push_message(dm, w.alice, "", attachments=[big])
        said = await fake.until(lambda: texts(fake, dm.id))
    assert said[0].startswith("I can't take that file")


async def test_a_message_whose_second_attachment_is_too_large_is_not_sent_on(
    w: World, redis_url: str, tmp_path: Path
) -> None:
    fake = w.fake
    dm = fake.dm(w.alice)
    small = fake.attachment(dm, "small.txt", b"ok")
    big = fake.attachment(dm, "big.bin", b"x" * 2000, "application/octet-stream")
    async with running(dc_config(tmp_path, w, maxFileSize=1000), redis_url):
        fake.push_message(dm, w.alice, "both please", attachments=[small, big])
        said = await fake.until(lambda: texts(fake, dm.id))
        await asyncio.sleep(0.3)  # no turn follows the note
    assert said[0].startswith("I can't take that file big.bin")
    assert texts(fake, dm.id) == said[:1]
