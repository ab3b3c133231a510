"""Receiving and sending under trouble: long answers, flood control, formatting refused,
malformed updates, webhook mode, a second poller, a refused token, an unreachable API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from channels.context import GatewayContext
from channels.gateway import Gateway
from channels.telegram import TelegramChannel
from channels.telegram.webhook import SECRET_HEADER, derive_secret
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import message_update
from tests.integration.runtime.support import Background
from tests.integration.telegram.support import (
    ALICE,
    LONG_CODE,
    channel_of,
    running,
    settled,
    texts,
    tg_config,
)
from tests.ports import free_port


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _quick(**options: Any) -> Any:
    """A channels factory: the Telegram channel with short retry delays."""

    def build(ctx: GatewayContext) -> list[Any]:
        return [TelegramChannel(ctx, ctx.config.channels.telegram, retry_delay=0.05, **options)]

    return build


async def test_a_long_answer_is_split_at_a_block_and_survives_a_429_mid_stream(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.fail("editMessageText", 429, retry_after=1)
    async with running(tg_config(tmp_path, tg), redis_url) as gateway:
        tg.push(message_update(ALICE, "a long one please"))
        final = await tg.until(
            lambda: texts(tg, 100) if any("end of a long" in t for t in texts(tg, 100)) else None
        )
        await tg.until(lambda: [c for c in tg.calls("editMessageText") if c.status == 200])
        assert channel_of(gateway).sender.flood_waits == 1
    assert len(final) == 2 and all(_units(t) <= 4096 for t in final)
    first, second = tg.sent(100)
    pre = [e for e in first["entities"] if e["type"] == "pre"]
    assert len(pre) == 1 and pre[0]["language"] == "python"
    code = first["text"][pre[0]["offset"] :]
    assert code.startswith("def main():") and code.rstrip().endswith("# step 44")
    assert LONG_CODE.strip() in code
    assert second["text"].startswith("The end of a long answer.")
    limited = [c for c in tg.calls("editMessageText") if c.status == 429]
    retried = [c for c in tg.calls("editMessageText") if c.status == 200]
    assert len(limited) == 1 and retried[0].at - limited[0].at >= 0.95  # waited retry_after


async def test_formatting_telegram_refuses_is_sent_as_plain_text(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.fail("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start tag")
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push(message_update(ALICE, "hello"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
    refused, plain = tg.calls("sendMessage")[:2]
    assert refused.status == 400 and refused.params["entities"]
    assert plain.status == 200 and "entities" not in plain.params
    assert "entities" not in tg.sent(100)[0]


async def test_malformed_and_unknown_updates_are_logged_and_skipped(
    tg: FakeTelegram,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="channels.telegram")
    async with running(tg_config(tmp_path, tg), redis_url):
        tg.push({"message": {"text": "no chat, no date, no id"}})
        tg.push({"callback_query": {"id": "q1", "data": "ap:x:approve"}})  # no "from"
        tg.push({"brand_new_update_kind": {"something": 1}})
        tg.push(message_update(ALICE, "hello after the junk"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
        await tg.until(lambda: tg.pending_updates() == 0)
    logged = caplog.text
    assert logged.count("malformed update") == 2
    assert "is of a kind facio ignores" in logged
    assert texts(tg, 100) == ["Hi there! Ask me anything."]


async def test_webhook_mode_checks_the_secret_and_answers(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    config = tg_config(tmp_path, tg, mode="webhook", webhookUrl=url)
    config = config.model_copy(
        update={"gateway": config.gateway.model_copy(update={"host": "127.0.0.1", "port": port})}
    )
    async with Gateway(config, redis_url), Background(config, redis_url):
        webhook = await tg.until(lambda: tg.webhook)
        assert webhook == {"url": url, "secret_token": derive_secret(tg.token)}
        registered = tg.calls("setWebhook")[0].params
        assert registered["allowed_updates"] == ["message", "edited_message", "callback_query"]
        async with aiohttp.ClientSession() as client:
            update = {"update_id": 1, **message_update(ALICE, "forged")}
            async with client.post(url, json=update) as reply:
                assert reply.status == 401
            headers = {SECRET_HEADER: "wrong"}
            async with client.post(url, json=update, headers=headers) as reply:
                assert reply.status == 401
        tg.push(message_update(ALICE, "hello by webhook"))
        await tg.until(lambda: "Hi there! Ask me anything." in texts(tg, 100))
        tg.push({"message": {"broken": True}})  # malformed: 200, so Telegram does not retry it
        await tg.until(lambda: len(tg.webhook_replies) == 2)
    assert tg.webhook_replies == [200, 200]
    assert "You said: forged" not in texts(tg, 100)
    assert not tg.calls("getUpdates")


async def _health(channel: TelegramChannel, contains: str, timeout: float = 10.0) -> str:
    """The channel's health once it mentions ``contains``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while contains not in (status := await channel.health()):
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {status!r}"
        await asyncio.sleep(0.02)
    return status


async def test_a_second_poller_is_reported_and_not_retried_forever(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    tg.fail("getUpdates", 409, times=1000)
    config = tg_config(tmp_path, tg)
    async with running(config, redis_url, worker=False, channels=_quick()) as gateway:
        status = await _health(channel_of(gateway), "Polling stopped")
        polls = len(tg.calls("getUpdates"))
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as client, client.get(f"{gateway.url}/healthz") as reply:
            health = await reply.json()
    assert "another program is polling this bot token" in status
    assert polls == 3 and len(tg.calls("getUpdates")) == 3
    assert health["status"] == "degraded" and "Polling stopped" in health["channels"]["telegram"]


async def test_gateways_sharing_redis_poll_one_at_a_time_and_take_over(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = tg_config(tmp_path, tg)

    def gateway() -> Gateway:
        return Gateway(config, redis_url, host="127.0.0.1", port=0, channels=_quick(lease_ttl=0.6))

    first, second = gateway(), gateway()
    async with Background(config, redis_url) as background:
        await first.start()
        await second.start()
        try:
            tg.push(message_update(ALICE, "hello"))
            await tg.until(lambda: texts(tg, 100))
            assert await channel_of(second).health() == "ok"  # standing by is healthy
            assert not [c for c in tg.calls("getUpdates") if c.status == 409]
            await first.stop()  # the poller goes away: the other takes over
            tg.push(message_update(ALICE, "still there?"))
            await tg.until(lambda: "You said: still there?" in texts(tg, 100), timeout=10)
            assert await channel_of(second).health() == "ok"
            await settled(second, background)
        finally:
            await first.stop()
            await second.stop()
    # at most the first gateway's abandoned long poll, ended by the new one
    assert len([c for c in tg.calls("getUpdates") if c.status == 409]) <= 1


async def test_a_refused_token_and_an_unreachable_api_show_in_health(
    tg: FakeTelegram, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    wrong = tg_config(tmp_path, tg, token="123456:wrong-token")
    async with running(wrong, redis_url, worker=False, channels=_quick()) as gateway:
        status = await _health(channel_of(gateway), "refused")
    assert status.startswith("the Telegram token was refused")
    nowhere = tg_config(tmp_path, tg, apiBase=f"http://127.0.0.1:{free_port()}")
    async with running(nowhere, redis_url, worker=False, channels=_quick()) as gateway:
        status = await _health(channel_of(gateway), "cannot reach")
    assert status.startswith("cannot reach http://127.0.0.1:")
