"""Telegram latency through the real gateway and worker, Telegram faked on loopback.

- update → first streamed write: from pushing a message to the fake (its
  long poll returns at once) to the fake receiving the ``sendMessage`` that
  starts the answer: getUpdates, the intake, Redis inbox + arq wake-up, the
  worker's turn (scripted model, instant), the outbox, the gateway's
  consumer, rendering.
- update → first streamed edit: the same, to the first ``editMessageText``
  of a longer answer (3,000 characters in 40-character chunks). The worker's
  outbox coalesces chunks (an entry per 0.1 s or 2 KB): with the model
  instant, the first 2 KB start the message and the rest follow with the
  step's ``response`` event, whose render edits the message at once (the
  ``streamInterval`` throttle holds chunks, never the final text). So this
  is a whole streamed answer's path, not the throttle's interval.
- click → resume: from pushing a button click to the fake receiving the
  resumed turn's answer (``Done, saved.``), with the approval held in the
  worker (``approvalHold`` > 0, the common case) and parked (``approvalHold``
  0: the click schedules a new drain job on any worker). Also click → card
  edited (the ``approval_decided`` render).

Timestamps are ``time.perf_counter()`` in this process (the fake runs in a
thread here). Run: python3 dev.py bench
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import message_update
from tests.integration.telegram.support import ALICE, SCRIPT, running, tg_config

pytestmark = pytest.mark.bench

ROUNDS = 40
CLICK_ROUNDS = 25
WARMUP = 3
STREAMED = "Streaming, part {n}: " + "words that keep coming in small chunks. " * 75
BENCH_SCRIPT: dict[str, Any] = {
    **SCRIPT,
    "rules": [
        {"on": "user", "match": r"^stream number (?P<n>\d+)", "text": STREAMED.format(n=r"\g<n>")},
        *SCRIPT["rules"],
    ],
}


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered) * 1e3:6.1f} ms   p99 {p99 * 1e3:6.1f} ms   "
        f"min {ordered[0] * 1e3:6.1f} ms   N={len(ordered)}"
    )


def _first(tg: FakeTelegram, method: str, after: float, check: Any) -> float | None:
    for call in tg.calls(method):
        if call.at >= after and check(call.params):
            return call.at
    return None


async def _update_to_first_write(tg: FakeTelegram) -> list[float]:
    samples = []
    for i in range(WARMUP + ROUNDS):
        text = f"hello number {i}"
        start = time.perf_counter()
        tg.push(message_update(ALICE, text))
        at = await tg.until(
            lambda s=start: _first(tg, "sendMessage", s, lambda p: "Hi" in p["text"])
        )
        if i >= WARMUP:
            samples.append(at - start)
    return samples


async def _update_to_first_edit(tg: FakeTelegram) -> list[float]:
    samples = []
    for i in range(WARMUP + ROUNDS):
        start = time.perf_counter()
        tg.push(message_update(ALICE, f"stream number {i}"))
        prefix = f"Streaming, part {i}:"

        def started(p: dict[str, Any], prefix: str = prefix) -> bool:
            return str(p["text"]).startswith(prefix)

        await tg.until(lambda s=start, check=started: _first(tg, "sendMessage", s, check))
        answer = next(sent for sent in tg.sent(ALICE["id"]) if started(sent))

        def edits_it(p: dict[str, Any], message_id: int = answer["message_id"]) -> bool:
            return bool(p["message_id"] == message_id)

        edited_at = await tg.until(
            lambda s=start, check=edits_it: _first(tg, "editMessageText", s, check)
        )
        if i >= WARMUP:
            samples.append(edited_at - start)
    return samples


async def _click_to_resume(tg: FakeTelegram) -> tuple[list[float], list[float]]:
    resumed, edited = [], []
    for i in range(WARMUP + CLICK_ROUNDS):
        since = time.perf_counter()
        tg.push(message_update(ALICE, f"remember item {i}"))
        await tg.until(lambda s=since: _first(tg, "sendMessage", s, lambda p: "reply_markup" in p))
        card = [m for m in tg.sent(ALICE["id"]) if m.get("reply_markup")][-1]
        data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        card_id = card["message_id"]
        start = time.perf_counter()
        tg.click(ALICE, ALICE["id"], card_id, data)
        done = await tg.until(
            lambda s=start: _first(tg, "sendMessage", s, lambda p: p["text"] == "Done, saved.")
        )
        card_edit = _first(tg, "editMessageText", start, lambda p, c=card_id: p["message_id"] == c)
        if i >= WARMUP:
            resumed.append(done - start)
            if card_edit is not None:
                edited.append(card_edit - start)
    return resumed, edited


async def test_telegram_latency(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    results: dict[str, list[float]] = {}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with FakeTelegram() as tg:
        async with running(tg_config(tmp_path / "a", tg, script=BENCH_SCRIPT), redis_url):
            results["update → first streamed write"] = await _update_to_first_write(tg)
            results["update → first streamed edit"] = await _update_to_first_edit(tg)
            held, edit = await _click_to_resume(tg)
            results["click → resumed answer (held)"] = held
            results["click → card edited"] = edit
    await redis.flushall()
    with FakeTelegram() as tg:
        parked_config = tg_config(tmp_path / "b", tg, agent={"approvalHold": 0})
        async with running(parked_config, redis_url):
            parked, _ = await _click_to_resume(tg)
            results["click → resumed answer (parked)"] = parked
    print("\nTelegram latency through the fake Bot API (gateway + worker in one process)")
    for name, samples in results.items():
        print(f"  {name:34} {_summary(samples)}")
    assert statistics.median(results["update → first streamed write"]) < 2.0
    assert statistics.median(results["update → first streamed edit"]) < 2.0
