"""The gateway's channels: built from the config, routed, probed, fed by the outbox consumer."""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from arq.connections import ArqRedis
from redis.asyncio import Redis

from channels.context import GatewayContext
from channels.gateway import Gateway, consumer_name
from channels.metrics import Metrics
from channels.outbox_consumer import OutboxConsumer
from channels.registry import ADAPTERS
from channels.runtime import RuntimeClient
from core.config.models_channels import ChannelsConfig
from core.errors import ConfigError
from core.wire import WireEvent, parse_wire
from tests.integration.api.support import api_config, running
from workers import keys
from workers.outbox import Outbox
from workers.outbox_reader import GROUP


class FakeChannel:
    """A channel that records what it renders; ``slow`` sessions take a while."""

    name = "fake"

    def __init__(self, *, slow: str = "", fail_on: str = "") -> None:
        self.rendered: list[tuple[str, str]] = []
        self.started = self.stopped = False
        self.slow = slow
        self.fail_on = fail_on

    def routes(self, app: web.Application) -> None:
        async def hook(request: web.Request) -> web.Response:
            return web.json_response({"channel": self.name})

        app.router.add_post("/fake/webhook", hook)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def render(self, event: WireEvent) -> None:
        if event.session_key == self.slow:
            await asyncio.sleep(0.5)
        if event.type == self.fail_on:
            raise RuntimeError("the platform said no")
        self.rendered.append((event.session_key, str(getattr(event, "content", event.type))))

    async def health(self) -> str:
        return "ok" if self.started else "not started"


def _event(
    session: str, content: str, *, channel: str = "fake", kind: str = "response"
) -> WireEvent:
    data: dict[str, Any] = {
        "type": kind,
        "session_key": session,
        "channel": channel,
        "content": content,
        "ts": time.time(),
    }
    if kind == "approval_request":
        data.update(tool_name="save_note", approval_id="a1")
    event = parse_wire(data)
    assert event is not None
    return event


async def _consumer(redis: Redis, channel: FakeChannel, **options: Any) -> OutboxConsumer:
    runtime = RuntimeClient(await connect_pool(redis))
    consumer = OutboxConsumer(runtime, {"fake": channel}, Metrics(), "g1", block_ms=50, **options)
    await consumer.start()
    return consumer


async def connect_pool(redis: Redis) -> ArqRedis:
    """An arq pool on the same server as the test's client."""
    return ArqRedis(connection_pool=redis.connection_pool)


async def _pending(redis: Redis) -> int:
    """Entries read and not acknowledged, in every outbox partition."""
    total = 0
    for p in range(keys.OUTBOX_PARTITIONS):
        stream = keys.partition_stream(p)
        if await redis.exists(stream) and any(
            g["name"] == GROUP.encode() for g in await redis.xinfo_groups(stream)
        ):
            total += int((await redis.xpending(stream, GROUP))["pending"])
    return total


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_sessions_render_in_order_and_side_by_side(redis: Redis) -> None:
    channel = FakeChannel(slow="fake:slow")
    consumer = await _consumer(redis, channel)
    outbox = Outbox(redis)
    try:
        for i in range(3):
            await outbox.publish(_event("fake:slow", f"s{i}"))
            await outbox.publish(_event("fake:fast", f"f{i}"))
        # the fast session is done long before the slow one's first render ends
        await _until(
            lambda: [c for s, c in channel.rendered if s == "fake:fast"] == ["f0", "f1", "f2"]
        )
        assert not [c for s, c in channel.rendered if s == "fake:slow"]
        await _until(lambda: len(channel.rendered) == 6)
        assert [c for s, c in channel.rendered if s == "fake:slow"] == ["s0", "s1", "s2"]
        await consumer.idle()
        assert await _pending(redis) == 0
    finally:
        await consumer.stop()


async def test_a_failing_render_is_counted_and_does_not_block_the_session(redis: Redis) -> None:
    channel = FakeChannel(fail_on="approval_request")
    consumer = await _consumer(redis, channel)
    outbox = Outbox(redis)
    try:
        await outbox.publish(_event("fake:a", "card", kind="approval_request"))
        await outbox.publish(_event("fake:a", "after"))
        await outbox.publish(_event("api:x", "not ours", channel="api"))
        await outbox.publish(_event("zz:x", "nobody", channel="zz"))
        await _until(lambda: channel.rendered == [("fake:a", "after")])
        await consumer.idle()
        assert consumer.failed.value(channel="fake") == 1
        assert consumer.rendered.value(channel="fake") == 1
        assert await _pending(redis) == 0
    finally:
        await consumer.stop()


async def test_entries_a_dead_gateway_left_pending_are_rendered(redis: Redis) -> None:
    outbox = Outbox(redis)
    stream = keys.outbox_stream("fake:a")
    await outbox.publish(_event("fake:a", "one"))
    await outbox.publish(_event("fake:a", "two"))
    await redis.xgroup_create(stream, GROUP, id="0")
    # a gateway read them and died before rendering: pending on "dead"
    await redis.xreadgroup(GROUP, "dead", {stream: ">"}, count=10)
    assert (await redis.xpending(stream, GROUP))["pending"] == 2
    channel = FakeChannel()
    consumer = await _consumer(redis, channel)  # alone: it takes every partition over
    try:
        await _until(lambda: channel.rendered == [("fake:a", "one"), ("fake:a", "two")])
        await consumer.idle()
        assert (await redis.xpending(stream, GROUP))["pending"] == 0
        assert consumer.partitions == set(range(keys.OUTBOX_PARTITIONS))
    finally:
        await consumer.stop()


async def test_a_stopping_gateway_finishes_the_renders_it_began(redis: Redis) -> None:
    channel = FakeChannel(slow="fake:slow")
    consumer = await _consumer(redis, channel)
    outbox = Outbox(redis)
    await outbox.publish(_event("fake:slow", "being posted"))
    await _until(lambda: consumer.lanes.in_flight == 1)  # read: its render (0.5 s) under way
    await consumer.stop()
    assert channel.rendered == [("fake:slow", "being posted")]
    assert await _pending(redis) == 0  # acknowledged: no other gateway posts it again


async def test_a_render_longer_than_the_grace_stays_pending_for_the_next_owner(
    redis: Redis,
) -> None:
    channel = FakeChannel(slow="fake:slow")
    consumer = await _consumer(redis, channel)
    await Outbox(redis).publish(_event("fake:slow", "cut short"))
    await _until(lambda: consumer.lanes.in_flight == 1)
    await consumer.stop(grace=0.1)
    assert channel.rendered == []
    assert await _pending(redis) == 1


async def test_the_gateway_runs_its_channels(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    channel = FakeChannel()
    seen: list[GatewayContext] = []

    def factory(ctx: GatewayContext) -> list[Any]:
        seen.append(ctx)
        return [channel]

    async with running(api_config(tmp_path), redis_url, channels=factory) as (gateway, client):
        assert channel.started and seen[0].redis is gateway.redis
        async with client.get("/healthz") as response:
            assert (await response.json())["channels"] == {"api": "ok", "fake": "ok"}
        async with client.post("/fake/webhook") as response:
            assert await response.json() == {"channel": "fake"}
        await Outbox(gateway.redis).publish(_event("fake:1", "hello"))
        await _until(lambda: channel.rendered == [("fake:1", "hello")])
    assert channel.stopped


def test_every_platform_of_the_config_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(ChannelsConfig.model_fields)
    for target in ADAPTERS.values():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))


async def test_gateway_start_fails_cleanly_on_a_broken_channel(
    redis_url: str, tmp_path: Path
) -> None:
    def broken(ctx: GatewayContext) -> list[Any]:
        raise ConfigError("bad token", path="channels.fake.token")

    gateway = Gateway(api_config(tmp_path), redis_url, host="127.0.0.1", port=0, channels=broken)
    with pytest.raises(ConfigError, match="bad token"):
        await gateway.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = gateway.redis


def test_a_gateway_keeps_its_consumer_name_across_restarts() -> None:
    """Same address and port → same consumer: a restart takes its pending entries back."""
    assert consumer_name("127.0.0.1", 8765) == consumer_name("127.0.0.1", 8765)
    assert consumer_name("127.0.0.1", 8765) != consumer_name("127.0.0.1", 8766)
    assert consumer_name("127.0.0.1", 0) != consumer_name("127.0.0.1", 0)  # port 0: unique
