"""Streaming edits against the fake Bot API: throttled, flushed after a pause,
recovered after a gateway restart, corrected by the final text."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from arq.connections import ArqRedis
from redis.asyncio import Redis

from channels.chat.platform import Target
from channels.chat.stream import Streams
from channels.runtime import RuntimeClient
from channels.telegram.formatted import Formatted
from channels.telegram.platform import TelegramPlatform
from channels.telegram.send import Sender
from tests.fakes.telegram_server import FakeTelegram

CHAT = Target("100")


def streams_on(redis: Redis, sender: Sender, interval: float) -> Streams[Formatted]:
    """Streams as a gateway's Telegram channel has them."""
    runtime = RuntimeClient(ArqRedis(connection_pool=redis.connection_pool))
    return Streams(runtime, TelegramPlatform(sender), interval=interval)


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def sender(tg: FakeTelegram) -> AsyncIterator[Sender]:
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
    try:
        yield Sender(bot)
    finally:
        await bot.session.close()


def _texts(tg: FakeTelegram) -> list[str]:
    return [str(m["text"]) for m in tg.sent(100)]


async def test_edits_are_throttled_and_a_pause_still_shows_everything(
    tg: FakeTelegram, redis: Redis, sender: Sender
) -> None:
    streams = streams_on(redis, sender, 0.3)
    for i in range(10):
        await streams.chunk("t1", "main", CHAT, f"w{i} ")
        await asyncio.sleep(0.05)
    # the stream pauses (a tool runs): the held text still shows, by the timer
    await tg.until(lambda: _texts(tg) == ["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"], timeout=3)
    writes = tg.calls("sendMessage") + tg.calls("editMessageText")
    assert len(tg.calls("sendMessage")) == 1
    assert 2 <= len(writes) <= 4  # ~0.5 s of chunks at most one write per 0.3 s
    gaps = [b.at - a.at for a, b in itertools.pairwise(writes)]
    assert all(gap >= 0.25 for gap in gaps)
    await streams.final("t1", "main", CHAT, "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 **done**")
    assert _texts(tg) == ["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 done"]
    await streams.close()


async def test_a_restarted_gateway_continues_the_same_message(
    tg: FakeTelegram, redis: Redis, sender: Sender
) -> None:
    before = streams_on(redis, sender, 0.0)
    await before.chunk("t2", "main", CHAT, "part one")
    await tg.until(lambda: _texts(tg) == ["part one"])
    after = streams_on(redis, sender, 0.0)  # a new gateway: state from Redis
    await after.chunk("t2", "main", CHAT, ", part two")
    assert _texts(tg) == ["part one, part two"]
    await after.final("t2", "main", CHAT, "part one, part two, and the end.")
    assert _texts(tg) == ["part one, part two, and the end."]
    assert len(tg.calls("sendMessage")) == 1
    assert not await redis.keys("facio:telegram:stream:*")


async def test_the_final_text_is_authoritative(
    tg: FakeTelegram, redis: Redis, sender: Sender
) -> None:
    streams = streams_on(redis, sender, 0.0)
    await streams.chunk("t3", "main", CHAT, "x" * 5000)  # two messages while streaming
    assert len(_texts(tg)) == 2
    await streams.final("t3", "main", CHAT, "Short after all.")
    assert _texts(tg) == ["Short after all."]  # the surplus message is deleted
    await streams.final("t4", "main", CHAT, "Never streamed, shown at once.")
    assert _texts(tg)[-1] == "Never streamed, shown at once."
    before = len(tg.calls("editMessageText"))
    await streams.chunk("t5", "main", CHAT, "same")
    await streams.final("t5", "main", CHAT, "same")  # nothing changed: no edit at all
    assert len(tg.calls("editMessageText")) == before
