"""Round trips to Redis per plain turn on the worker, and per plain arq job: the worker
runs in this process (arq's burst mode, for both) and every request it writes to a
Redis connection is counted — a pipeline or a script call is one, as it is on the wire."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from arq import Worker
from arq.connections import ArqRedis
from redis.asyncio.connection import AbstractConnection

from core.config import FacioConfig
from core.inbound import Inbound
from tests.bench.arq_baseline import wait
from workers.inbox import submit
from workers.queue import ArqJobQueue
from workers.worker import build_worker

__all__ = ["arq_round_trips", "facio_round_trips"]


@contextlib.contextmanager
def _counting() -> Iterator[list[int]]:
    """Count every request written to any redis-py asyncio connection meanwhile."""
    sent = [0]
    original = AbstractConnection.send_packed_command

    async def counted(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


async def facio_round_trips(config: FacioConfig, pool: ArqRedis, turns: int) -> float:
    """``turns`` plain turns on new sessions, queued, then drained by one worker."""
    queue = ArqJobQueue(pool)
    for i in range(turns):
        inbound = Inbound(channel="api", session_key=f"api:rt-{i}", user_id="bench", text="ping")
        await submit(pool, inbound, queue)
    worker = build_worker(config, pool, burst=True, handle_signals=False, max_jobs=50)
    with _counting() as sent:
        await worker.main()
    await worker.close()
    return sent[0] / turns


async def arq_round_trips(pool: ArqRedis, jobs: int) -> float:
    """``jobs`` plain arq jobs (the same pool), queued, then drained by one worker."""
    for _ in range(jobs):
        await pool.enqueue_job("wait", 0)
    worker = Worker(
        functions=[wait], redis_pool=pool, burst=True, handle_signals=False, max_jobs=50
    )
    with _counting() as sent:
        await worker.main()
    await worker.close()
    return sent[0] / jobs
