"""Helpers for runtime tests: a config, a real arq worker, the outbox as events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from core.inbound import Inbound
from workers import keys
from workers.drain import LEASE_TTL, Drainer
from workers.inbox import Submitted, submit
from workers.lease import LeaseKeeper
from workers.queue import ArqJobQueue
from workers.stops import StopWatcher
from workers.worker import build_worker, connect


def demo_config(tmp_path: Path, **agent: Any) -> FacioConfig:
    data = {"workspace": "ws", "bots": {"main": {"preset": "demo"}}, "agent": agent}
    return parse_config(data, base_dir=tmp_path, env={})


def inbound(text: str, *, session: str = "api:test", user: str = "u1", **extra: Any) -> Inbound:
    return Inbound(channel="api", session_key=session, user_id=user, text=text, **extra)


async def send(pool: ArqRedis, message: Inbound) -> Submitted:
    return await submit(pool, message, ArqJobQueue(pool))


async def run_burst(config: FacioConfig, url: str) -> None:
    """Run a real arq worker until the queue is empty (burst mode)."""
    pool = await connect(url)
    worker = build_worker(config, pool, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


def drainer_of(redis: Redis, runner: Any, queue: Any, *, ttl: float = LEASE_TTL) -> Drainer:
    """A drainer for ``runner`` (a real TurnRunner or a test double), as a worker has it."""
    return Drainer(
        redis, runner, "w1", queue, LeaseKeeper(redis, ttl), StopWatcher(redis), lease_ttl=ttl
    )


class Background:
    """A real arq worker running in this event loop until stopped."""

    def __init__(self, config: FacioConfig, url: str) -> None:
        self.config = config
        self.url = url
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Background:
        pool = await connect(self.url)
        self.worker = build_worker(self.config, pool, handle_signals=False)
        self.task = asyncio.create_task(self.worker.main())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        for job in self.worker.tasks.values():
            job.cancel()
        await asyncio.gather(self.task, *self.worker.tasks.values(), return_exceptions=True)
        await self.worker.close()


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as something that sorts like it."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def published(redis: Redis) -> list[tuple[str, dict[str, Any]]]:
    """Every event published to any session's stream, in publish order: ``(id, event)``.

    Every event of a turn goes to its session's stream (the outbox holds only
    those of channels a gateway renders), so this is what was published.
    """
    entries: list[tuple[str, dict[str, Any]]] = []
    async for stream in redis.scan_iter(match=keys.events("*"), count=1000):
        for raw_id, fields in await redis.xrange(stream):
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            entries.append((entry_id, json.loads(fields[b"data"])))
    return sorted(entries, key=lambda entry: entry_order(entry[0]))


async def outbox(redis: Redis) -> list[dict[str, Any]]:
    """Every event published to any session's stream, in publish order."""
    return [event for _id, event in await published(redis)]


async def wait_for(
    redis: Redis, kind: str, count: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Outbox events of ``kind`` once there are ``count`` of them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [e for e in await outbox(redis) if e["type"] == kind]
        if len(found) >= count:
            return found
        if asyncio.get_running_loop().time() > deadline:
            kinds = [e["type"] for e in await outbox(redis)]
            raise AssertionError(f"no {count}× {kind} within {timeout}s; outbox: {kinds}")
        await asyncio.sleep(0.02)
