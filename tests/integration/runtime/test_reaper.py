"""The reaper on a real Redis: which scheduled sessions count as lost.

The arq side is laid out the way arq leaves it: a job waiting for a worker
is in the queue (a sorted set); a running job stays in the queue *and* has an
``arq:in-progress:{id}`` key until it finishes — also when its worker was
SIGKILLed, for arq's whole job timeout. The process-level proof is
``test_crash_worker.py``.
"""

from __future__ import annotations

import time

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from workers import keys
from workers.codec import text
from workers.maintenance import MIN_AGE, reap
from workers.queue import QUEUE_NAME


class Recorder:
    def __init__(self) -> None:
        self.enqueued: list[tuple[str, str]] = []

    def stage(self, session_key: str, job_id: str) -> None:
        return None  # enqueued by enqueue_drain, which records it

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        self.enqueued.append((session_key, job_id))


async def _scheduled(
    redis: Redis, session: str, job: str, *, age: float, running: bool, leased: bool = False
) -> None:
    await redis.set(keys.sched(session), job)
    await redis.zadd(keys.ACTIVE, {session: time.time() - age})
    await redis.zadd(QUEUE_NAME, {job: time.time() * 1000})
    if running:
        await redis.set(in_progress_key_prefix + job, "1")
    if leased:
        await redis.set(keys.lease(session), f"host:1:abc:{job}", px=15_000)


async def test_only_a_dead_workers_session_is_rescheduled(redis: Redis) -> None:
    old = MIN_AGE + 5
    await _scheduled(redis, "api:dead", "drain:dead", age=old, running=True)
    await _scheduled(redis, "api:waiting", "drain:waiting", age=old, running=False)
    await _scheduled(redis, "api:leased", "drain:leased", age=old, running=True, leased=True)
    await _scheduled(redis, "api:young", "drain:young", age=1, running=True)
    queue = Recorder()

    assert await reap(redis, queue) == ["api:dead"]

    ((session, job),) = queue.enqueued
    assert session == "api:dead" and job != "drain:dead"
    assert text(await redis.get(keys.sched("api:dead"))) == job
    # the dead job leaves arq's queue: arq will never start it again
    assert await redis.zscore(QUEUE_NAME, "drain:dead") is None
    assert not await redis.exists(in_progress_key_prefix + "drain:dead")
    for session, job in [
        ("api:waiting", "drain:waiting"),
        ("api:leased", "drain:leased"),
        ("api:young", "drain:young"),
    ]:
        assert text(await redis.get(keys.sched(session))) == job
        assert await redis.zscore(QUEUE_NAME, job) is not None
    assert await reap(redis, queue) == []  # the new job is young: left alone


async def test_a_job_that_ended_without_closing_is_rescheduled(redis: Redis) -> None:
    """arq dropped the job (it raised, e.g. Redis went away mid-turn): not queued, no lease."""
    await redis.set(keys.sched("api:x"), "drain:gone")
    await redis.zadd(keys.ACTIVE, {"api:x": time.time() - MIN_AGE - 1})
    queue = Recorder()
    assert await reap(redis, queue) == ["api:x"]
    assert [s for s, _ in queue.enqueued] == ["api:x"]
