"""Turns that wait: what holding them costs, and how soon a new message starts beside them.

facio: turns whose (scripted) model takes 15 minutes, posted through the
gateway (the first thousand) or submitted straight to Redis as the gateway
does (the rest, faster than HTTP), all in flight on one worker. arq: as many
jobs sleeping as long on one plain arq worker. CPU is read from ``/proc``
over a window in which nothing else happens.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence

from arq.connections import ArqRedis
from redis.asyncio import Redis

from core.inbound import Inbound
from tests.bench.arq_baseline import STARTS
from tests.bench.runtime_footprint import idle_cpu
from tests.bench.runtime_support import Api, Stat, stat, turn_start
from workers import keys
from workers.inbox import submit
from workers.queue import ArqJobQueue

__all__ = [
    "LONG_WINDOW",
    "WINDOW",
    "arq_in_flight",
    "arq_start_latency",
    "enqueue_sleeping",
    "facio_in_flight",
    "post_many",
    "start_latency",
    "submit_many",
    "window_cpu",
]

WINDOW = 10.0
"""Seconds over which CPU is measured while the turns wait."""
LONG_WINDOW = 30.0
"""The same with 10,000 waiting: a window long enough that one garbage collection of
the worker's heap (it holds 10,000 turns) does not decide the figure."""
SLOW = "slow"
"""Prompt prefix of the benchmark script's 15-minute answer."""


async def window_cpu(pids: Mapping[str, int | None], seconds: float = WINDOW) -> dict[str, float]:
    """Percent of one core each process used over ``seconds``."""
    return await idle_cpu(dict(pids), seconds)


async def post_many(api: Api, sessions: Sequence[str], text: str, concurrency: int = 32) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def post(session: str) -> None:
        async with gate:
            await api.post(session, text)

    await asyncio.gather(*(post(s) for s in sessions))


async def submit_many(pool: ArqRedis, sessions: Sequence[str], text: str) -> None:
    """What the gateway's POST does, from here: the intake script and the doorbell."""
    gate = asyncio.Semaphore(64)
    queue = ArqJobQueue(pool)

    async def one(session: str) -> None:
        async with gate:
            inbound = Inbound(channel="api", session_key=session, user_id="bench", text=text)
            await submit(pool, inbound, queue)

    await asyncio.gather(*(one(s) for s in sessions))


async def _count(redis: Redis, pattern: str) -> int:
    n = 0
    async for _key in redis.scan_iter(match=pattern, count=2000):
        n += 1
    return n


async def _until_count(redis: Redis, pattern: str, n: int, timeout: float) -> int:
    """Until ``n`` keys match ``pattern``; how many did."""
    deadline = time.monotonic() + timeout
    count = await _count(redis, pattern)
    while count < n and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        count = await _count(redis, pattern)
    return count


async def facio_in_flight(redis: Redis, n: int, timeout: float = 900) -> int:
    """Until ``n`` sessions are leased (a worker runs their turn); how many are."""
    return await _until_count(redis, keys.lease("*"), n, timeout)


async def arq_in_flight(redis: Redis, n: int, timeout: float = 900) -> int:
    """Until ``n`` arq jobs are in progress; how many are."""
    return await _until_count(redis, "arq:in-progress:*", n, timeout)


async def start_latency(api: Api, n: int, tag: str) -> Stat:
    """POST → ``turn_started`` (the worker's stamp), one new session per probe."""
    stamped, _received = await turn_start(api, n, tag)
    return stamped


async def enqueue_sleeping(pool: ArqRedis, n: int, seconds: float) -> None:
    gate = asyncio.Semaphore(64)

    async def one() -> None:
        async with gate:
            await pool.enqueue_job("wait", seconds)

    await asyncio.gather(*(one() for _ in range(n)))


async def arq_start_latency(pool: ArqRedis, poller: Redis, n: int) -> Stat:
    """enqueue → the job running (its own stamp), one job at a time."""
    await poller.delete(STARTS)
    for i in range(n):
        await asyncio.sleep(random.uniform(0, 0.05))
        await pool.enqueue_job("wait", 0, time.time())
        async with asyncio.timeout(60):
            while await poller.llen(STARTS) <= i:  # type: ignore[misc]
                await asyncio.sleep(0.002)
    return stat([float(v) for v in await poller.lrange(STARTS, 0, -1)])  # type: ignore[misc]
