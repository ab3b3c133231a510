"""Two live gateways on one Redis: each session's events rendered once, in order, by one of
them; a gateway that stops hands its partitions over, one that dies loses them in seconds."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis

from channels.base import Channel
from channels.context import GatewayContext
from channels.gateway import Gateway
from channels.outbox_consumer import OutboxTimings
from core.wire import ResponseEvent, WireEvent
from tests.integration.api.support import api_config
from workers import keys
from workers.outbox import Outbox

TTL = 3.0
SESSIONS = 24
STEPS = 8


class Recorder:
    """A channel that writes down who rendered what."""

    name = "rec"

    def __init__(self, gateway: str, log: list[tuple[str, str, int]]) -> None:
        self.gateway = gateway
        self.log = log

    def routes(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def render(self, event: WireEvent) -> None:
        assert isinstance(event, ResponseEvent)
        await asyncio.sleep(0.001)  # rendering takes a moment: lanes interleave
        self.log.append((self.gateway, event.session_key, int(event.content)))

    async def health(self) -> str:
        return "ok"


def _gateway(tmp_path: Path, redis_url: str, name: str, log: list[tuple[str, str, int]]) -> Gateway:
    def channels(ctx: GatewayContext) -> list[Channel]:
        return [Recorder(name, log)]

    return Gateway(
        api_config(tmp_path),
        redis_url,
        host="127.0.0.1",
        port=0,
        channels=channels,
        consumer=f"gateway:{name}",
        outbox_timings=OutboxTimings(lease_ttl=TTL),
    )


async def _publish(outbox: Outbox, sessions: range, steps: range) -> None:
    for step in steps:
        for i in sessions:
            await outbox.publish(
                ResponseEvent(
                    session_key=f"rec:{i}",
                    channel="rec",
                    content=str(step),
                    ts=time.time(),
                    idempotency_key=f"rec:{i}:{step}",
                )
            )


async def _until(check: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not in time: {what}"
        await asyncio.sleep(0.02)


def _check(log: list[tuple[str, str, int]], steps: int) -> dict[str, set[str]]:
    """Every session's steps once and in order; which gateways rendered each session."""
    by_session: dict[str, list[int]] = defaultdict(list)
    renderers: dict[str, set[str]] = defaultdict(set)
    for gateway, session, step in log:
        by_session[session].append(step)
        renderers[session].add(gateway)
    assert len(by_session) == SESSIONS
    for session, seen in by_session.items():
        assert seen == list(range(steps)), (session, seen)
    return renderers


async def test_two_live_gateways_share_the_sessions_and_render_each_once_in_order(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    log: list[tuple[str, str, int]] = []
    outbox = Outbox(redis)
    a = _gateway(tmp_path, redis_url, "a", log)
    b = _gateway(tmp_path, redis_url, "b", log)
    async with a, b:
        assert a.consumer is not None and b.consumer is not None
        consumers = (a.consumer, b.consumer)
        await _until(
            lambda: all(len(c.partitions) == keys.OUTBOX_PARTITIONS // 2 for c in consumers),
            "the partitions to be shared out",
        )
        assert not a.consumer.partitions & b.consumer.partitions
        await _publish(outbox, range(SESSIONS), range(STEPS))
        await _until(lambda: len(log) == SESSIONS * STEPS, "every event rendered")
        renderers = _check(log, STEPS)
        assert {g for who in renderers.values() for g in who} == {"a", "b"}

        # b stops: it gives its partitions back, a takes them, nothing is lost
        await b.stop()
        await _until(
            lambda: len(a.consumer.partitions) == keys.OUTBOX_PARTITIONS, "a to take them all"
        )
        await _publish(outbox, range(SESSIONS), range(STEPS, 2 * STEPS))
        await _until(lambda: len(log) == 2 * SESSIONS * STEPS, "the rest rendered by a")
        _check(log, 2 * STEPS)
        assert {g for g, _, step in log if step >= STEPS} == {"a"}


async def test_a_dead_gateways_partitions_are_taken_over_within_the_lease(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    log: list[tuple[str, str, int]] = []
    a = _gateway(tmp_path, redis_url, "a", log)
    # a gateway that died holding every partition: its leases are still there
    for p in range(keys.OUTBOX_PARTITIONS):
        await redis.set(keys.outbox_lease(p), "gateway:dead:abc", px=int(TTL * 1000))
    await redis.zadd(keys.GATEWAYS, {"gateway:dead": time.time()})
    await _publish(Outbox(redis), range(SESSIONS), range(STEPS))
    started = time.monotonic()
    async with a:
        assert a.consumer is not None
        await _until(lambda: len(log) == SESSIONS * STEPS, "a to take over and render")
        took = time.monotonic() - started
        assert len(a.consumer.partitions) == keys.OUTBOX_PARTITIONS
    _check(log, STEPS)
    assert took < TTL + 2.0, took  # the lease's time, and a beat or two
