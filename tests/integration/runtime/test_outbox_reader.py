"""The gateway's outbox consumer: at-least-once, reclaim, dedupe, stale entries."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from core import wire
from core.wire import WireEvent, parse_wire
from workers import keys
from workers.outbox import Outbox
from workers.outbox_reader import GROUP, OutboxReader


def _event(kind: str, key: str | None = None, *, age: float = 0.0) -> wire.Envelope:
    event: dict[str, Any] = {
        "type": kind,
        "session_key": "file:x",
        "channel": "file",  # a channel a gateway renders: its events go to the outbox
        "ts": time.time() - age,
    }
    if kind in ("response", "response_chunk"):
        event["content"] = kind
    if key:
        event["idempotency_key"] = key
    parsed = parse_wire(event)
    assert parsed is not None
    return parsed


STREAM = keys.outbox_stream("file:x")
"""The outbox partition of the session these tests publish for."""


class Collector:
    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    async def __call__(self, event: WireEvent) -> None:
        if event.type == self.fail_on:
            raise RuntimeError("renderer crashed")
        self.seen.append(event.type)


async def test_renders_in_order_and_acknowledges(redis: Redis) -> None:
    outbox = Outbox(redis)
    for kind in ("turn_started", "response_chunk", "response", "turn_finished"):
        await outbox.publish(_event(kind))
    render = Collector()
    reader = OutboxReader(redis, "g1", render, streams=[STREAM])
    await reader.ensure_group()
    await reader.ensure_group()  # idempotent: a second gateway start
    assert await reader.read_once(block_ms=100) == 4
    assert render.seen == ["turn_started", "response_chunk", "response", "turn_finished"]
    pending = await redis.xpending(STREAM, GROUP)
    assert pending["pending"] == 0


async def test_a_dead_gateways_entries_are_reclaimed(redis: Redis) -> None:
    await Outbox(redis).publish(_event("response", "t1:m2:response"))
    dying = OutboxReader(redis, "dead", Collector(fail_on="response"), streams=[STREAM])
    await dying.ensure_group()
    with pytest.raises(RuntimeError):  # the gateway dies mid-render: nothing acknowledged
        await dying.read_once(block_ms=100)
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 1
    render = Collector()
    survivor = OutboxReader(redis, "alive", render, streams=[STREAM])
    taken = await survivor.take_over(STREAM)  # it holds the partition now: all of it is its
    assert len(taken) == 1
    for entry in taken:
        await survivor.handle(entry)
    assert render.seen == ["response"]
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0


async def test_a_republished_final_event_renders_once(redis: Redis) -> None:
    outbox = Outbox(redis)
    await outbox.publish(_event("response", "t1:m2:response"))
    await outbox.publish(_event("response", "t1:m2:response"))  # a retried turn
    await outbox.publish(_event("response_chunk"))  # chunks carry no key
    render = Collector()
    reader = OutboxReader(redis, "g", render, streams=[STREAM])
    await reader.ensure_group()
    await reader.read_once(block_ms=100)
    assert render.seen == ["response", "response_chunk"]
    assert reader.dropped_duplicate == 1


async def test_stale_and_garbled_entries_are_acknowledged_unrendered(redis: Redis) -> None:
    await Outbox(redis).publish(_event("response", "old", age=3600))
    await redis.xadd(STREAM, {"data": "{broken"})
    await Outbox(redis).publish(_event("response", "new"))
    render = Collector()
    reader = OutboxReader(redis, "g", render, max_age=600, streams=[STREAM])
    await reader.ensure_group()
    assert await reader.read_once(block_ms=100) == 3
    assert render.seen == ["response"] and reader.dropped_stale == 1
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
    assert json.loads((await redis.xrange(STREAM))[-1][1][b"data"])["idempotency_key"] == "new"


async def test_whoever_takes_a_partition_over_renders_its_pending_entries_first(
    redis: Redis,
) -> None:
    outbox = Outbox(redis)
    for kind in ("turn_started", "response", "turn_finished"):
        await outbox.publish(_event(kind))
    dying = OutboxReader(redis, "gateway-1", Collector(fail_on="response"), streams=[STREAM])
    await dying.ensure_group()
    with pytest.raises(RuntimeError):  # read all three, rendered one, then died
        await dying.read_once(block_ms=100)
    await outbox.publish(_event("response_chunk"))  # published while it was down
    render = Collector()
    again = OutboxReader(redis, "gateway-2", render, streams=[STREAM])
    pending = await again.take_over(STREAM)
    kinds = [getattr(OutboxReader.decode(entry), "type", None) for entry in pending]
    assert kinds == ["response", "turn_finished"]
    for entry in pending:
        await again.handle(entry)
    await again.read_once(block_ms=100)
    assert render.seen == ["response", "turn_finished", "response_chunk"]
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
    assert await again.take_over(STREAM) == []
