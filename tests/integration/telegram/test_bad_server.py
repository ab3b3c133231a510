"""A bad way to the Bot API: an HTML page from a proxy, a redirect loop whose error text is
the URL (token and all), an update without an id. Polling goes on, health says what is
wrong, and the token never shows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from channels.context import GatewayContext
from channels.telegram import TelegramChannel
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import message_update
from tests.integration.telegram.support import ALICE, channel_of, running, texts, tg_config


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _quick(ctx: GatewayContext) -> list[Any]:
    """The Telegram channel with short retry delays."""
    return [TelegramChannel(ctx, ctx.config.channels.telegram, retry_delay=0.05)]


async def _health(channel: TelegramChannel, contains: str, timeout: float = 10.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while contains not in (status := await channel.health()):
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {status!r}"
        await asyncio.sleep(0.01)
    return status


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, tracebacks included, but the fake server's own access log."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(
        formatter.format(r) for r in caplog.records if not r.name.startswith("aiohttp.access")
    )


async def test_an_html_502_from_a_proxy_is_retried_and_shown_in_health(
    tg: FakeTelegram,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="channels.telegram")
    tg.fail_raw("getMe")  # the first getMe and the first polls get nginx's 502 page
    tg.fail_raw("getUpdates", times=3)
    tg.fail_raw("sendMessage")  # and the answer's first try: sending retries it
    async with running(tg_config(tmp_path, tg), redis_url, channels=_quick) as gateway:
        channel = channel_of(gateway)
        status = await _health(channel, "502 Bad Gateway")
        tg.push(message_update(ALICE, "hello through the proxy"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
        assert await channel.health() == "ok"
    assert status.startswith(f"cannot reach {tg.url} (getUpdates: the answer is not the Bot")
    assert "502 Bad Gateway" in status
    assert [c.status for c in tg.calls("getMe")] == [502, 200]
    assert [c.status for c in tg.calls("sendMessage")][:2] == [502, 200]
    assert caplog.text.count("getUpdates: the answer is not the Bot API's JSON") == 3


async def test_a_body_that_is_not_text_is_an_unusable_answer_too(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.fail_raw("getUpdates", 200, b"\xff\xfe\x00garbage", content_type="application/json")
    async with running(tg_config(tmp_path, tg), redis_url, channels=_quick) as gateway:
        status = await _health(channel_of(gateway), "not valid")
        tg.push(message_update(ALICE, "hello again"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
    assert "the answer is not the Bot API's JSON (not valid utf-8 text)" in status


async def test_a_redirect_loop_never_puts_the_token_in_the_log(
    tg: FakeTelegram,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # aiohttp's TooManyRedirects reads "…, url='http://…/bot<token>/getMe'"
    caplog.set_level(logging.DEBUG)
    for method in ("getMe", "getUpdates", "sendMessage"):
        tg.redirect_loop(method, times=3)  # a call's three tries all fail: tried again later
    async with running(tg_config(tmp_path, tg), redis_url, channels=_quick):
        tg.push(message_update(ALICE, "hello"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
    text = _logged(caplog)
    assert tg.token.split(":", 1)[1] not in text
    assert "TooManyRedirects" in text and "/bot<token>/getMe" in text
    assert "/bot<token>/getUpdates" in text and "/bot<token>/sendMessage" in text


async def test_an_update_without_an_id_is_skipped_and_does_not_make_polling_spin(
    tg: FakeTelegram,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="channels.telegram")
    async with running(tg_config(tmp_path, tg), redis_url):  # retry delay 1 s
        tg.push(message_update(ALICE, "hello first"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
        tg.push_raw(message_update(ALICE, "no update_id"))  # Telegram keeps offering it
        tg.push(message_update(ALICE, "and after it"))
        await tg.until(lambda: "You said: and after it" in texts(tg, 100))
        polls = len(tg.calls("getUpdates"))
        await asyncio.sleep(1.5)
        polls = len(tg.calls("getUpdates")) - polls
    assert polls <= 3  # one poll per retry delay, not one per round trip
    assert "an update without an update_id was skipped; it cannot be confirmed" in caplog.text
    assert "You said: no update_id" not in texts(tg, 100)
