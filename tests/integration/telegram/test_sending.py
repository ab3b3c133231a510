"""Sending against the fake Bot API: which refusals get the plain-text fallback (only
formatting ones), "message is not modified" as done, identical edits skipped, a blocked
bot logged with the chat and not retried, and a send whose answer is lost never posted
twice (an edit's is tried again)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from arq.connections import ArqRedis
from redis.asyncio import Redis

from channels.chat.cards import CardStore
from channels.chat.platform import Target
from channels.chat.presence import Typing
from channels.chat.render import Renderer
from channels.chat.stream import Streams
from channels.runtime import RuntimeClient
from channels.telegram.errors import FormattingRefused, RequestRefused, TelegramMaybeSent
from channels.telegram.markdown import render_markdown
from channels.telegram.platform import TelegramPlatform
from channels.telegram.send import ChatTarget, Sender
from core.wire import ErrorEvent
from tests.fakes.telegram_server import FakeTelegram

CHAT = ChatTarget(100)
BOLD = render_markdown("**bold** move")


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
    try:
        yield bot
    finally:
        await bot.session.close()


def _texts(tg: FakeTelegram) -> list[str]:
    return [str(m["text"]) for m in tg.sent(100)]


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte "
        "offset 12",
        "Bad Request: can't parse MessageEntity: Unsupported type specified",
        "Bad Request: entity beginning at UTF-16 offset 3 ends after the end of the text at "
        "UTF-16 offset 8",
        "Bad Request: entity URL 'localhost' is invalid: Wrong HTTP URL",
    ],
)
async def test_a_formatting_refusal_is_sent_again_as_plain_text(
    tg: FakeTelegram, bot: Bot, description: str
) -> None:
    tg.fail("sendMessage", 400, description)
    await Sender(bot).send(CHAT, BOLD)
    refused, plain = tg.calls("sendMessage")
    assert refused.status == 400 and refused.params["entities"]
    assert plain.status == 200 and "entities" not in plain.params
    assert _texts(tg) == ["bold move"]


@pytest.mark.parametrize(
    "description",
    ["Bad Request: chat not found", "Bad Request: message is too long", "Bad Request: wrong"],
)
async def test_other_bad_requests_are_not_sent_again(
    tg: FakeTelegram, bot: Bot, description: str
) -> None:
    tg.fail("sendMessage", 400, description)
    with pytest.raises(RequestRefused) as refused:
        await Sender(bot).send(CHAT, BOLD)
    assert not isinstance(refused.value, FormattingRefused)
    assert description in str(refused.value)
    assert [c.status for c in tg.calls("sendMessage")] == [400]


async def test_editing_a_message_that_is_gone_is_not_sent_again(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(RequestRefused, match="message to edit not found"):
        await Sender(bot).edit(100, 999, BOLD)  # the fake's real answer: it never existed
    assert [c.status for c in tg.calls("editMessageText")] == [400]


async def test_message_is_not_modified_counts_as_done(tg: FakeTelegram, bot: Bot) -> None:
    sent = await Sender(bot).send(CHAT, BOLD)
    fresh = Sender(bot)  # knows nothing of the message: another gateway, or a restart
    await fresh.edit(100, sent.message_id, BOLD)  # the fake: 400 "message is not modified"
    [edit] = tg.calls("editMessageText")  # one try: no plain-text second one
    assert edit.status == 400 and edit.params["entities"]
    await fresh.remove_buttons(100, sent.message_id)  # it has none: "not modified" too
    assert [c.status for c in tg.calls("editMessageReplyMarkup")] == [400]


async def test_identical_edits_are_not_sent(tg: FakeTelegram, bot: Bot) -> None:
    sender = Sender(bot)
    sent = await sender.send(CHAT, BOLD)
    await sender.edit(100, sent.message_id, BOLD)  # what it shows already
    assert not tg.calls("editMessageText")
    other = render_markdown("**bold** move, and more")
    await sender.edit(100, sent.message_id, other)
    await sender.edit(100, sent.message_id, other)
    assert len(tg.calls("editMessageText")) == 1
    await sender.edit(100, sent.message_id, BOLD)  # back again: a real change
    assert len(tg.calls("editMessageText")) == 2
    assert _texts(tg) == ["bold move"]


async def test_a_blocked_bot_is_logged_with_the_chat_and_not_retried(
    tg: FakeTelegram, bot: Bot, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels")
    tg.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", times=10)
    platform = TelegramPlatform(Sender(bot))
    runtime = RuntimeClient(ArqRedis(connection_pool=redis.connection_pool))
    renderer = Renderer(
        platform,
        runtime,
        Streams(runtime, platform),
        Typing(platform),
        CardStore(runtime, platform.name),
    )
    event = ErrorEvent(session_key="telegram:100", reply_to={"chat_id": "100"}, message="boom")
    await renderer.render(event)
    assert [c.status for c in tg.calls("sendMessage")] == [403]
    assert (
        "telegram: error for telegram:100 not shown: sendMessage in chat 100: "
        "Forbidden: bot was blocked by the user"
    ) in caplog.text


async def test_a_send_whose_answer_is_lost_is_not_sent_twice(tg: FakeTelegram, bot: Bot) -> None:
    tg.lose_answers("sendMessage")  # Telegram posts it; the answer never arrives
    with pytest.raises(TelegramMaybeSent, match="not sent again"):
        await Sender(bot).send(CHAT, BOLD)
    assert len(tg.calls("sendMessage")) == 1
    assert _texts(tg) == ["bold move"]  # there once, not twice


async def test_an_edit_whose_answer_is_lost_is_tried_again(tg: FakeTelegram, bot: Bot) -> None:
    sender = Sender(bot, sleep=_no_sleep)
    sent = await sender.send(CHAT, BOLD)
    tg.lose_answers("editMessageText")  # an edit is idempotent: trying again is safe
    await sender.edit(100, sent.message_id, render_markdown("done"))
    assert len(tg.calls("editMessageText")) == 2
    assert _texts(tg) == ["done"]


async def _no_sleep(_seconds: float) -> None:
    return None


def _streams(bot: Bot, redis: Redis) -> Streams[object]:
    platform = TelegramPlatform(Sender(bot, sleep=_no_sleep))
    runtime = RuntimeClient(ArqRedis(connection_pool=redis.connection_pool))
    return Streams(runtime, platform, interval=0.0, retry_delay=0.0)  # type: ignore[arg-type]


async def test_a_streamed_answer_whose_send_was_lost_is_not_doubled(
    tg: FakeTelegram, bot: Bot, redis: Redis
) -> None:
    streams, target = _streams(bot, redis), Target("100")
    tg.lose_answers("sendMessage")
    await streams.chunk("t1", "main", target, "The whole answer.")  # sent, answer lost
    await streams.final("t1", "main", target, "The whole answer.")  # the same: not again
    assert _texts(tg) == ["The whole answer."]
    assert len(tg.calls("sendMessage")) == 1 and not tg.calls("editMessageText")


async def test_a_final_text_that_differs_from_a_lost_send_goes_out_once(
    tg: FakeTelegram, bot: Bot, redis: Redis
) -> None:
    streams, target = _streams(bot, redis), Target("100")
    tg.lose_answers("sendMessage")
    await streams.chunk("t2", "main", target, "The first")  # sent, answer lost: id unknown
    await streams.chunk("t2", "main", target, " words")  # cannot edit it, does not resend
    assert _texts(tg) == ["The first"]
    await streams.final("t2", "main", target, "The first words, and the rest.")
    assert _texts(tg) == ["The first", "The first words, and the rest."]  # lost nothing
    assert not tg.calls("editMessageText")
