"""arq jobs started by one script call (workers.job_claim): each job once, as arq would."""

from __future__ import annotations

import asyncio
import time

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from workers.job_claim import claim
from workers.queue import QUEUE_NAME
from workers.worker import connect

TIMEOUT_MS = 60_000


async def test_two_workers_claiming_the_same_jobs_start_each_once(
    redis: Redis, redis_url: str
) -> None:
    pool = await connect(redis_url)
    ids = [f"job-{i}" for i in range(50)]
    for job_id in ids:
        await pool.enqueue_job("drain_session", "api:x", _job_id=job_id)
    now = int(time.time() * 1000) + 1000
    a, b = await asyncio.gather(
        claim(redis, QUEUE_NAME, in_progress_key_prefix, ids, now, TIMEOUT_MS),
        claim(redis, QUEUE_NAME, in_progress_key_prefix, ids[::-1], now, TIMEOUT_MS),
    )
    won_a = {job for job, score in zip(ids, a, strict=True) if score is not None}
    won_b = {job for job, score in zip(ids[::-1], b, strict=True) if score is not None}
    assert won_a | won_b == set(ids) and not won_a & won_b
    ttl = await redis.pttl(in_progress_key_prefix + ids[0])
    assert 0 < ttl <= TIMEOUT_MS
    await pool.aclose()


async def test_deferred_missing_and_running_jobs_are_skipped(redis: Redis, redis_url: str) -> None:
    pool = await connect(redis_url)
    await pool.enqueue_job("drain_session", "api:x", _job_id="due")
    await pool.enqueue_job("drain_session", "api:x", _job_id="later", _defer_by=60)
    await pool.enqueue_job("drain_session", "api:x", _job_id="running")
    await redis.set(in_progress_key_prefix + "running", "1")
    now = int(time.time() * 1000) + 1000
    scores = await claim(
        redis, QUEUE_NAME, in_progress_key_prefix, ["due", "later", "gone", "running"], now, 1000
    )
    assert scores[0] is not None and scores[0] == int(await redis.zscore(QUEUE_NAME, "due"))
    assert scores[1:] == [None, None, None]
    assert not await redis.exists(in_progress_key_prefix + "later")
    assert not await redis.exists(in_progress_key_prefix + "gone")
    assert await claim(redis, QUEUE_NAME, in_progress_key_prefix, [], now, 1000) == []
    await pool.aclose()
