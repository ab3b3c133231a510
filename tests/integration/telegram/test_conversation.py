"""Talking to the bot in Telegram: DMs, strangers, groups, topics, commands, content kinds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram.types import Update
from redis.asyncio import Redis

from core.paths import session_name
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import group_chat, message_update
from tests.integration.telegram.support import (
    ALICE,
    BOB,
    GROUP,
    MALLORY,
    channel_of,
    running,
    texts,
    tg_config,
)
from workers import keys


def uploads(tmp_path: Path, session: str) -> Path:
    """The uploads folder of ``session``: in its folder, where code actions run."""
    return tmp_path / "ws" / "sessions" / session_name(session) / "uploads"


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


async def test_a_direct_message_is_answered_with_formatting_and_typing(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url) as gateway:
        tg.push(message_update(ALICE, "hello there"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
        answer = tg.sent(100)[-1]
        kinds = {
            (e["type"], answer["text"][e["offset"] : e["offset"] + e["length"]])
            for e in answer["entities"]
        }
        assert kinds == {("bold", "there"), ("code", "anything")}
        assert tg.calls("sendChatAction")[0].params["action"] == "typing"
        assert tg.calls("getUpdates")[0].params["allowed_updates"] == [
            "message",
            "edited_message",
            "callback_query",
        ]
        assert await channel_of(gateway).health() == "ok"
        history = await redis.lrange(keys.history("telegram:100"), 0, -1)
        assert b"hello there" in history[0]


async def test_a_stranger_is_refused_once_with_their_id_and_never_runs_the_agent(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(MALLORY, "let me in"))
        tg.push(message_update(MALLORY, "please"))
        refusal = await tg.until(lambda: texts(tg, 666))
        await tg.until(lambda: tg.pending_updates() == 0)  # both confirmed: both handled
    assert len(refusal) == 1 and "666" in refusal[0] and "allowFrom" in refusal[0]
    assert texts(tg, 666) == refusal
    assert not await redis.exists(keys.history("telegram:666"))


async def test_groups_answer_mentions_and_replies_only_and_prefix_the_speaker(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    group = group_chat(GROUP)
    chatting = message_update(ALICE, "just chatting", chat=group)
    stranger = message_update(MALLORY, "@facio_test_bot hello from a stranger", chat=group)
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(chatting)
        tg.push(stranger)
        tg.push(message_update(BOB, "@facio_test_bot what is up", chat=group))
        answer = await tg.until(lambda: [t for t in texts(tg, GROUP) if "what is up" in t])
        assert answer == ["You said: Bob: @facio_test_bot what is up"]
        first = tg.sent(GROUP)[0]
        # a reply to the bot's message counts as addressing it
        tg.push(message_update(ALICE, "and more", chat=group, reply_to=first))
        await tg.until(lambda: [t for t in texts(tg, GROUP) if "Alice: and more" in t])
    history = b"".join(await redis.lrange(keys.history(f"telegram:{GROUP}"), 0, -1))
    assert b"just chatting" not in history and b"stranger" not in history
    sent = [c.params for c in tg.calls("sendMessage") if c.params["chat_id"] == GROUP]
    assert all(p["reply_parameters"]["message_id"] for p in sent)  # answers quote the asker
    # nothing went to the group for the unaddressed message or the stranger: no answer, no
    # refusal (in groups strangers are ignored), no note
    ignored = {chatting["message"]["message_id"], stranger["message"]["message_id"]}
    assert not [p for p in sent if p["reply_parameters"]["message_id"] in ignored]
    assert texts(tg, GROUP) == [
        "You said: Bob: @facio_test_bot what is up",
        "You said: Alice: and more",
    ]
    assert not [c for c in tg.calls("sendMessage") if c.params["chat_id"] == MALLORY["id"]]


async def test_an_open_group_answers_everyone_allowed(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg, groupPolicy="open"), redis_url):
        tg.push(message_update(ALICE, "no mention needed", chat=group_chat(GROUP)))
        await tg.until(lambda: "You said: Alice: no mention needed" in texts(tg, GROUP))


async def test_forum_topics_are_their_own_sessions_and_replies_stay_in_the_topic(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    forum = group_chat(GROUP, forum=True)
    async with running(tg_config(tmp_path, tg, groupPolicy="open"), redis_url):
        tg.push(message_update(ALICE, "in topic seven", chat=forum, thread_id=7, topic=True))
        # a reply thread in the group: has a thread id, is not a topic message
        tg.push(message_update(ALICE, "in the general chat", chat=forum, thread_id=99))
        await tg.until(lambda: len(texts(tg, GROUP)) == 2)
    assert await redis.exists(keys.history(f"telegram:{GROUP}:topic:7"))
    assert await redis.exists(keys.history(f"telegram:{GROUP}"))
    threads = {c.params["text"]: c.params.get("message_thread_id") for c in tg.calls("sendMessage")}
    assert threads == {
        "You said: Alice: in topic seven": 7,
        "You said: Alice: in the general chat": None,
    }
    assert all(c.params.get("message_thread_id") in (7, None) for c in tg.calls("sendChatAction"))


async def test_commands_help_new_and_stop(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "/help"))
        await tg.until(lambda: [t for t in texts(tg, 100) if "/new" in t and "100" in t])
        tg.push(message_update(ALICE, "hello"))
        await tg.until(lambda: [t for t in texts(tg, 100) if t.startswith("Hi there")])
        tg.push(message_update(ALICE, "/stop"))
        await tg.until(lambda: "Nothing is running." in texts(tg, 100))
        tg.push(message_update(ALICE, "/new"))
        await tg.until(lambda: [t for t in texts(tg, 100) if t.startswith("🆕")])
        assert not await redis.exists(keys.history("telegram:100"))
        tg.push(message_update(ALICE, "/new@some_other_bot"))  # not ours
        tg.push(message_update(ALICE, "/weather in Paris"))  # not a facio command: for the agent
        await tg.until(lambda: "You said: /weather in Paris" in texts(tg, 100))
    assert len([t for t in texts(tg, 100) if t.startswith("🆕")]) == 1


async def test_edits_stickers_photos_and_unsupported_kinds(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.add_file("ph-big", b"\xff\xd8 a jpeg", "photos/file_1.jpg")
    tg.add_file("doc-1", b"x" * 50, "documents/report.pdf")
    photo = [
        {"file_id": "ph-small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "ph-big", "file_unique_id": "b", "width": 800, "height": 600, "file_size": 10},
    ]
    config = tg_config(tmp_path, tg, maxFileSize=1000)
    async with running(config, redis_url):
        tg.push(message_update(ALICE, "fixed typo", edited=True))
        await tg.until(lambda: "You said: (edited) fixed typo" in texts(tg, 100))
        sticker = {
            "file_id": "st",
            "file_unique_id": "st",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        tg.push(message_update(ALICE, sticker=sticker))
        await tg.until(lambda: "You said: [sticker 👍]" in texts(tg, 100))
        tg.push(message_update(ALICE, photo=photo, caption="what is this?", message_id=501))
        said = await tg.until(lambda: [t for t in texts(tg, 100) if "what is this?" in t])
        assert "[photo saved at uploads/501-photo.jpg]" in said[0]  # where code finds it
        saved = uploads(tmp_path, "telegram:100") / "501-photo.jpg"
        assert saved.read_bytes() == b"\xff\xd8 a jpeg"
        big = {
            "file_id": "doc-1",
            "file_unique_id": "d",
            "file_name": "report.pdf",
            "file_size": 5000,
        }
        tg.push(message_update(ALICE, document=big))
        await tg.until(lambda: [t for t in texts(tg, 100) if "too" in t or "limit" in t])
        tg.push(message_update(ALICE, location={"latitude": 1.5, "longitude": 2.5}))
        await tg.until(lambda: [t for t in texts(tg, 100) if "can't use this kind" in t])
    assert [p.name for p in uploads(tmp_path, "telegram:100").iterdir()] == ["501-photo.jpg"]


async def test_a_redelivered_update_runs_once(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url) as gateway:
        update = message_update(ALICE, "only once")
        tg.push({"update_id": 42, **update})
        await tg.until(lambda: "You said: only once" in texts(tg, 100))
        # Telegram sends it again (the poll that confirmed it was lost)
        await channel_of(gateway).handle(Update.model_validate({"update_id": 42, **update}))
        tg.push(message_update(ALICE, "next"))
        await tg.until(lambda: "You said: next" in texts(tg, 100))
    assert texts(tg, 100).count("You said: only once") == 1


async def test_thoughts_are_hidden_unless_configured(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "think first"))
        await tg.until(lambda: "Thought about it." in texts(tg, 100))
    assert texts(tg, 100) == ["Thought about it."]
    async with running(tg_config(tmp_path, tg, showThoughts=True), redis_url):
        tg.push(message_update(ALICE, "think again"))
        await tg.until(lambda: texts(tg, 100).count("Thought about it.") == 2)
    thought = next(m for m in tg.sent(100) if str(m["text"]).startswith("💭"))
    assert thought["text"] == "💭 Weighing *pros* and cons."
    assert {e["type"] for e in thought["entities"]} == {"blockquote", "italic"}


async def test_stop_cancels_the_running_turn(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "answer slowly"))
        await tg.until(lambda: tg.calls("sendChatAction"))  # the turn is running
        tg.push(message_update(ALICE, "/stop"))
        await tg.until(lambda: "⏹ Stopped." in texts(tg, 100))
        tg.push(message_update(ALICE, "hello"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
    assert "Finally." not in texts(tg, 100)
