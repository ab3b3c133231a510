"""Discord latency through the real gateway and worker, beside Telegram's, in one run.

Both platforms are faked on loopback and reached by their real clients
(discord.py over a zlib-stream gateway websocket and REST; aiogram long
polling); the scripted model answers instantly, so the figures are facio's
own path plus each client library's:

- message → first visible answer: from pushing a message (Discord: a
  MESSAGE_CREATE on the gateway; Telegram: an update the long poll returns at
  once) to the fake receiving the call that creates the answer
  (``POST /channels/{id}/messages``; ``sendMessage``);
- click → card edited: from pushing a button click (INTERACTION_CREATE; a
  callback query) to the edit that shows the outcome on the card;
- click → resumed answer: to the fake receiving the resumed turn's answer
  (``Done, saved.``), the approval held in the worker (``approvalHold`` > 0);
- Discord also: click → interaction answered (the callback inside the 3 s window).

Timestamps are ``time.perf_counter()`` in this process (both fakes run in
threads here); 3 warm-up rounds each. Run: python3 dev.py bench -k discord
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.bench.test_telegram import _click_to_resume as telegram_clicks
from tests.bench.test_telegram import _summary
from tests.bench.test_telegram import _update_to_first_write as telegram_messages
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram
from tests.integration.discord_channel.support import World, dc_config, make_world, running
from tests.integration.telegram.support import running as telegram_running
from tests.integration.telegram.support import tg_config

pytestmark = pytest.mark.bench

ROUNDS = 40
CLICK_ROUNDS = 25
WARMUP = 3
MESSAGES = "POST /channels/{channel_id}/messages"
EDITS = "PATCH /channels/{channel_id}/messages/{message_id}"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"


def _first(fake: FakeDiscord, route: str, after: float, check: Any) -> float | None:
    for call in fake.calls(route):
        if call.at >= after and check(call):
            return call.at
    return None


def _content(call: Any) -> str:
    return str((call.body or {}).get("content", ""))


async def _message_to_answer(w: World) -> list[float]:
    fake, dm, samples = w.fake, w.fake.dm(w.alice), []
    for i in range(WARMUP + ROUNDS):
        start = time.perf_counter()
        fake.push_message(dm, w.alice, f"hello number {i}")
        at = await fake.until(
            lambda s=start: _first(fake, MESSAGES, s, lambda c: "Hi" in _content(c))
        )
        if i >= WARMUP:
            samples.append(at - start)
    return samples


async def _click_to_resume(w: World) -> dict[str, list[float]]:
    fake, dm = w.fake, w.fake.dm(w.alice)
    found: dict[str, list[float]] = {"answered": [], "edited": [], "resumed": []}
    for i in range(WARMUP + CLICK_ROUNDS):
        since = time.perf_counter()
        fake.push_message(dm, w.alice, f"remember item {i}")
        await fake.until(
            lambda s=since: _first(fake, MESSAGES, s, lambda c: (c.body or {}).get("components"))
        )
        card = [m for m in fake.sent(dm.id) if m.get("components")][-1]
        custom_id = card["components"][0]["components"][0]["custom_id"]
        start = time.perf_counter()
        fake.click(card, custom_id, w.alice)
        done = await fake.until(
            lambda s=start: _first(fake, MESSAGES, s, lambda c: _content(c) == "Done, saved.")
        )
        path = f"/messages/{card['id']}"
        edited = _first(fake, EDITS, start, lambda c, p=path: c.path.endswith(p))
        answered = _first(fake, CALLBACK, start, lambda c: c.status == 204 or c.status == 200)
        if i >= WARMUP:
            found["resumed"].append(done - start)
            if edited is not None:
                found["edited"].append(edited - start)
            if answered is not None:
                found["answered"].append(answered - start)
    return found


async def test_discord_latency_beside_telegram(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    results: dict[str, list[float]] = {}
    (tmp_path / "d").mkdir()
    (tmp_path / "t").mkdir()
    with FakeDiscord(heartbeat_interval=5.0) as fake:
        w = make_world(fake)
        async with running(dc_config(tmp_path / "d", w), redis_url):
            results["discord: message → first visible answer"] = await _message_to_answer(w)
            clicks = await _click_to_resume(w)
    results["discord: click → interaction answered"] = clicks["answered"]
    results["discord: click → card edited"] = clicks["edited"]
    results["discord: click → resumed answer (held)"] = clicks["resumed"]
    await redis.flushall()
    with FakeTelegram() as tg:
        async with telegram_running(tg_config(tmp_path / "t", tg), redis_url):
            results["telegram: update → first visible answer"] = await telegram_messages(tg)
            held, edited = await telegram_clicks(tg)
    results["telegram: click → card edited"] = edited
    results["telegram: click → resumed answer (held)"] = held
    print("\nDiscord beside Telegram, through their fakes (gateway + worker in one process)")
    for name, samples in results.items():
        print(f"  {name:42} {_summary(samples)}")
    assert statistics.median(results["discord: message → first visible answer"]) < 2.0
    assert max(results["discord: click → interaction answered"]) < 3.0  # Discord's window
