"""Slack latency through the real gateway and worker, with Telegram's beside it in the same run.

- message → first visible answer: from the fake Slack delivering a DM (a
  Socket Mode envelope) to it receiving the ``chat.postMessage`` that starts
  the answer: the envelope, bolt, the intake (``users.info`` cached after the
  first round), Redis inbox + arq wake-up, the worker's turn (scripted model,
  instant), the outbox, the gateway's consumer, rendering. Telegram's figure
  is update → first streamed write (``tests/bench/test_telegram.py``).
- click → resumed answer: from a click on the card's Approve button
  (``block_actions`` envelope) to the fake receiving the resumed turn's
  answer (``Done, saved.``), the approval held in the worker
  (``approvalHold`` > 0) and parked (``approvalHold`` 0).

Timestamps are ``time.perf_counter()`` in this process (the fakes run in
threads here). Run: python3 dev.py bench -k slack
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.bench.test_telegram import _click_to_resume, _summary, _update_to_first_write
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_workspace import Channel, User
from tests.fakes.telegram_server import FakeTelegram
from tests.integration.slack.support import running, slack_config
from tests.integration.telegram.support import running as tg_running
from tests.integration.telegram.support import tg_config

pytestmark = pytest.mark.bench

ROUNDS = 40
CLICK_ROUNDS = 25
WARMUP = 3


def _first(slack: FakeSlack, method: str, after: float, check: Any) -> float | None:
    for call in slack.calls(method):
        if call.at >= after and call.status == 200 and check(call.params):
            return call.at
    return None


async def _message_to_answer(slack: FakeSlack, alice: User, dm: Channel) -> list[float]:
    samples = []
    for i in range(WARMUP + ROUNDS):
        start = time.perf_counter()
        slack.say(alice, dm, f"hello number {i}")
        at = await slack.until(
            lambda s=start: _first(slack, "chat.postMessage", s, lambda p: "Hi" in p["text"])
        )
        if i >= WARMUP:
            samples.append(at - start)
    return samples


async def _slack_click_to_resume(slack: FakeSlack, alice: User, dm: Channel) -> list[float]:
    samples = []
    for i in range(WARMUP + CLICK_ROUNDS):
        since = time.perf_counter()
        slack.say(alice, dm, f"remember item {i}")
        await slack.until(
            lambda s=since: _first(slack, "chat.postMessage", s, lambda p: "blocks" in p)
        )
        card = [m for m in slack.sent(dm.id) if "Approval needed" in m["text"]][-1]
        start = time.perf_counter()
        slack.click(alice, dm, card["ts"], "facio.approval.approve")
        done = await slack.until(
            lambda s=start: _first(
                slack, "chat.postMessage", s, lambda p: p["text"] == "Done, saved."
            )
        )
        if i >= WARMUP:
            samples.append(done - start)
    return samples


async def test_slack_latency_beside_telegram(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    results: dict[str, list[float]] = {}
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).mkdir()
    with FakeSlack() as slack:
        alice = slack.add_user("alice")
        dm = slack.dm(alice)
        config = slack_config(tmp_path / "a", slack, allow=[alice.id])
        async with running(config, redis_url, slack):
            results["Slack: message → first visible answer"] = await _message_to_answer(
                slack, alice, dm
            )
            results["Slack: click → resumed answer (held)"] = await _slack_click_to_resume(
                slack, alice, dm
            )
    await redis.flushall()
    with FakeSlack() as slack:
        alice = slack.add_user("alice")
        dm = slack.dm(alice)
        config = slack_config(tmp_path / "b", slack, allow=[alice.id], agent={"approvalHold": 0})
        async with running(config, redis_url, slack):
            results["Slack: click → resumed answer (parked)"] = await _slack_click_to_resume(
                slack, alice, dm
            )
    await redis.flushall()
    with FakeTelegram() as tg:
        async with tg_running(tg_config(tmp_path / "c", tg), redis_url):
            results["Telegram: update → first streamed write"] = await _update_to_first_write(tg)
            held, _ = await _click_to_resume(tg)
            results["Telegram: click → resumed answer (held)"] = held
    await redis.flushall()
    with FakeTelegram() as tg:
        async with tg_running(tg_config(tmp_path / "d", tg, agent={"approvalHold": 0}), redis_url):
            parked, _ = await _click_to_resume(tg)
            results["Telegram: click → resumed answer (parked)"] = parked
    print("\nSlack and Telegram latency through their fakes (gateway + worker in one process)")
    for name, samples in results.items():
        print(f"  {name:42} {_summary(samples)}")
    assert statistics.median(results["Slack: message → first visible answer"]) < 2.0
