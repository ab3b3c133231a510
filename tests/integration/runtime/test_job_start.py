"""How a worker starts and ends drain jobs without arq's per-job bookkeeping.

A drain job is started with its payload (one MGET per poll) and claimed by its
first script, ACQUIRE, which takes it off arq's queue; the script that closes
the session deletes it (workers.worker, workers.scripts). What arq would
write per job — an in-progress mark, a retry counter, a result — never
exists, and nothing of a job outlives it. Jobs that are not drain jobs keep
arq's protocol.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from redis.asyncio import Redis

from core.inbound import Inbound
from tests.integration.runtime.support import (
    demo_config,
    drainer_of,
    inbound,
    outbox,
    run_burst,
    send,
)
from workers import keys
from workers.inbox import QUEUE_NAME, TurnRequest, job_key, new_id, submit
from workers.queue import ArqJobQueue
from workers.runtime import CTX_KEY
from workers.turn import Outcome
from workers.worker import build_worker, connect


async def _arq_keys(redis: Redis) -> list[str]:
    return sorted([k.decode() async for k in redis.scan_iter(match="arq:*")])


async def test_turns_leave_no_job_behind_and_write_nothing_of_arqs(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    for i in range(3):
        await send(pool, inbound("hello", session=f"api:s{i}"))
        await send(pool, inbound("again", session=f"api:s{i}"))
    queued = await redis.zrange(QUEUE_NAME, 0, -1)
    assert len(queued) == 3
    assert await redis.exists(*(job_key(j.decode()) for j in queued)) == 3
    await redis.config_resetstat()
    await run_burst(demo_config(tmp_path), redis_url)
    finished = [e for e in await outbox(redis) if e["type"] == "turn_finished"]
    assert len(finished) == 6
    # no payload, in-progress mark, retry counter or result left; the queue is empty
    assert [k for k in await _arq_keys(redis) if k != "arq:queue:health-check"] == []
    stats = await redis.info("commandstats")
    # arq's own start (a WATCH transaction) and read (MULTI/INCRBY) never ran
    assert not {"cmdstat_watch", "cmdstat_multi", "cmdstat_incrby"} & set(stats)
    await pool.aclose()


class _Once:
    """A turn runner that counts its turns (two drainers racing for one job)."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(
        self, request: TurnRequest, holder: str, *, parked: bool = False, then: Any = None
    ) -> Outcome:
        self.runs += 1
        await asyncio.sleep(0.05)
        return "done"

    async def pending_approvals(self, turn_id: str) -> bool:
        return False


async def test_two_workers_starting_the_same_job_run_it_once(redis: Redis, redis_url: str) -> None:
    queue = ArqJobQueue(await connect(redis_url))
    for round_ in range(20):
        session = f"api:race{round_}"
        await submit(
            redis, Inbound(channel="api", session_key=session, user_id="u", text="x"), queue
        )
        (job,) = [j.decode() for j in await redis.zrange(QUEUE_NAME, 0, -1)]
        runner = _Once()
        first, second = drainer_of(redis, runner, queue), drainer_of(redis, runner, queue)
        results = await asyncio.gather(first.drain(session, job), second.drain(session, job))
        assert sorted(results) == ["done", "skipped"]
        assert runner.runs == 1
        assert await redis.llen(keys.inbox(session)) == 0
        assert await redis.zcard(QUEUE_NAME) == 0
        assert not await redis.exists(job_key(job), keys.sched(session), keys.lease(session))


async def test_a_job_whose_session_has_a_newer_job_leaves_the_queue_unrun(
    redis: Redis, redis_url: str
) -> None:
    queue = ArqJobQueue(await connect(redis_url))
    session = "api:stale"
    await submit(redis, Inbound(channel="api", session_key=session, user_id="u", text="x"), queue)
    (current,) = [j.decode() for j in await redis.zrange(QUEUE_NAME, 0, -1)]
    stale = f"drain:{new_id()}"  # e.g. one handed back and queued again by arq
    await queue.enqueue_drain(session, stale)
    runner = _Once()
    assert await drainer_of(redis, runner, queue).drain(session, stale) == "skipped"
    assert runner.runs == 0
    assert await redis.zscore(QUEUE_NAME, stale) is None
    assert not await redis.exists(job_key(stale))
    # the session's own job is untouched, and runs
    assert await redis.zscore(QUEUE_NAME, current) is not None
    assert await drainer_of(redis, runner, queue).drain(session, current) == "done"
    assert runner.runs == 1


async def test_a_job_taken_by_another_worker_is_left_alone(redis: Redis, redis_url: str) -> None:
    queue = ArqJobQueue(await connect(redis_url))
    session = "api:taken"
    await submit(redis, Inbound(channel="api", session_key=session, user_id="u", text="x"), queue)
    (job,) = [j.decode() for j in await redis.zrange(QUEUE_NAME, 0, -1)]
    await redis.zrem(QUEUE_NAME, job)  # what the other worker's ACQUIRE did
    await redis.set(keys.lease(session), f"w2:{job}")
    runner = _Once()
    assert await drainer_of(redis, runner, queue).drain(session, job) == "skipped"
    assert runner.runs == 0
    assert await redis.get(keys.lease(session)) == f"w2:{job}".encode()
    assert await redis.get(keys.sched(session)) == job.encode()
    assert await redis.exists(job_key(job))  # the other worker's to delete


@pytest.mark.parametrize("payload", [None, b"not json", b'{"f":"other","a":[],"k":{},"et":1}'])
async def test_a_job_that_is_not_a_drain_job_goes_arqs_way(
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    payload: bytes | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An expired payload, one that is not JSON, another function: arq starts and fails
    it (its in-progress claim, its warning), and it leaves the queue and Redis."""
    job = "drain:odd"
    await redis.zadd(QUEUE_NAME, {job: 0})
    if payload is not None:
        await redis.set(job_key(job), payload)
    with caplog.at_level(logging.WARNING, logger="arq.worker"):
        await run_burst(demo_config(tmp_path), redis_url)
    assert await redis.zcard(QUEUE_NAME) == 0
    assert [k for k in await _arq_keys(redis) if k != "arq:queue:health-check"] == []
    assert any(job in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(("result", "counted"), [("done", 1), ("parked", 1), ("skipped", 0)])
async def test_a_job_not_run_here_is_neither_counted_nor_logged_as_run(
    redis_url: str, tmp_path: Path, result: str, counted: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers that read the same job both start it; the one whose ACQUIRE finds it
    gone must not count it in its health check (``j_complete``) nor log it as run."""
    pool = await connect(redis_url)
    worker = build_worker(demo_config(tmp_path), pool, handle_signals=False)

    async def drain(session_key: str, job_id: str) -> str:
        return result

    worker.ctx[CTX_KEY] = SimpleNamespace(drainer=SimpleNamespace(drain=drain))
    with caplog.at_level(logging.INFO, logger="workers.worker"):
        await worker._run_drain("drain:j", "api:s", 0)
    assert worker.jobs_complete == counted
    assert any("drain:j" in r.getMessage() for r in caplog.records) == bool(counted)
    await pool.aclose()
