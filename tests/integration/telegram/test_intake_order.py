"""Slow updates do not stall other chats: a file download runs in its chat's lane (the
chat keeps its order), a click's answer under a long flood wait is not waited out inline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from channels.gateway import Gateway
from core.messages import UserMessage, message_from_json
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import message_update
from tests.integration.runtime.support import Background
from tests.integration.telegram.support import (
    ALICE,
    BOB,
    buttons,
    running,
    settled,
    texts,
    tg_config,
)
from workers import keys

DOWNLOAD = 3.0
"""Seconds the fake takes to serve a file."""


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


async def test_a_slow_download_in_one_chat_does_not_delay_another_and_order_is_kept(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.add_file("doc-slow", b"minutes of the meeting", "documents/minutes.txt")
    tg.slow_files(DOWNLOAD)
    document = {"file_id": "doc-slow", "file_unique_id": "s", "file_name": "minutes.txt"}
    loop = asyncio.get_running_loop()
    async with running(tg_config(tmp_path, tg), redis_url):
        await tg.until(lambda: tg.calls("getUpdates"))
        start = loop.time()
        tg.push(message_update(ALICE, document=document, caption="read this"))
        tg.push(message_update(ALICE, "and then this"))
        tg.push(message_update(BOB, "hello from bob"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 200))
        bob_answered = loop.time() - start
        await tg.until(lambda: "You said: and then this" in texts(tg, 100), timeout=20)
        downloaded = loop.time() - start
    assert bob_answered < DOWNLOAD - 1.0  # not queued behind the download
    assert downloaded >= DOWNLOAD
    first, second = texts(tg, 100)
    assert first.startswith("You said: read this") and "minutes.txt" in first
    assert second == "You said: and then this"
    stored = await redis.lrange(keys.history("telegram:100"), 0, -1)
    asked = [m.content for m in map(message_from_json, stored) if isinstance(m, UserMessage)]
    assert asked[0].startswith("read this") and asked[1] == "and then this"


async def test_a_click_answer_under_a_long_flood_wait_does_not_stall_the_intake(
    tg: FakeTelegram,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="channels.telegram")
    tg.fail("answerCallbackQuery", 429, retry_after=60)
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "remember to call mom"))
        card = await tg.until(lambda: [m for m in tg.sent(100) if buttons(m)])
        approve = buttons(card[0])[0][1]
        tg.click(ALICE, 100, card[0]["message_id"], approve)
        tg.push(message_update(BOB, "hello meanwhile"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 200), timeout=10)
        await tg.until(lambda: "Done, saved." in texts(tg, 100), timeout=10)
    assert [c.status for c in tg.calls("answerCallbackQuery")] == [429]  # not waited out
    assert "flood control asks for 60 s more after 0 s of waiting; giving up" in caplog.text


async def test_updates_still_in_a_lane_when_the_gateway_stops_are_handled_after_a_restart(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.add_file("doc-slow", b"minutes of the meeting", "documents/minutes.txt")
    tg.slow_files(60.0)  # the download cannot finish before the gateway stops
    document = {"file_id": "doc-slow", "file_unique_id": "s", "file_name": "minutes.txt"}
    config = tg_config(tmp_path, tg)
    async with running(config, redis_url):
        await tg.until(lambda: tg.calls("getUpdates"))
        tg.push(message_update(ALICE, document=document, caption="read this"))
        tg.push(message_update(ALICE, "and then this"))
        await tg.until(lambda: tg.calls("getFile"))  # the download started
        await tg.until(lambda: tg.pending_updates() == 0)  # both confirmed to Telegram
    assert texts(tg, 100) == []
    tg.slow_files(0.0)
    async with running(config, redis_url):
        await tg.until(lambda: "You said: and then this" in texts(tg, 100), timeout=20)
    first, second = texts(tg, 100)
    assert first.startswith("You said: read this") and "minutes.txt" in first
    assert second == "You said: and then this"


async def test_a_standby_gateway_leaves_the_pollers_lane_updates_alone(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.add_file("doc-slow", b"minutes of the meeting", "documents/minutes.txt")
    tg.slow_files(DOWNLOAD)
    document = {"file_id": "doc-slow", "file_unique_id": "s", "file_name": "minutes.txt"}
    config = tg_config(tmp_path, tg)
    first = Gateway(config, redis_url, host="127.0.0.1", port=0)
    second = Gateway(config, redis_url, host="127.0.0.1", port=0)
    async with Background(config, redis_url) as background:
        await first.start()
        try:
            await tg.until(lambda: tg.calls("getUpdates"))
            tg.push(message_update(ALICE, document=document, caption="read this"))
            await tg.until(lambda: tg.calls("getFile"))  # in the first gateway's lane
            await second.start()  # stands by: the first one holds the polling lease
            await tg.until(lambda: [t for t in texts(tg, 100) if "read this" in t], timeout=20)
            await settled(first, background)
        finally:
            await second.stop()
            await first.stop()
    assert len(tg.calls("getFile")) == 1  # downloaded, and so handled, once
