"""Periodic upkeep every worker runs: recover orphaned sessions, expire approvals.

Orphans: a worker that dies mid-turn leaves its session scheduled but
unleased. Every ``REAP_INTERVAL`` each worker looks for sessions whose stamp
in ``facio:active`` — set when the drain job was scheduled, and again by every
renewal of the session's lease (:class:`workers.lease.LeaseKeeper`), so a
running turn is never looked at — is at least ``MIN_AGE`` seconds old, holds no lease and is not
waiting in arq's queue for a free worker (arq keeps a *running* job in its
queue too, marked in progress: a dead worker's job stays there for arq's
job timeout), and schedules a new job (compare-and-set on the old job id,
so only one worker does it). With a 15 s lease this picks a dead worker's
session up within ~25 s (DESIGN: within 30 s).

Expiry: a pending approval past its ``expires_at`` is marked expired (a
rejection), announced, and its parked turn resumed so the person hears it.

Heartbeat: each round also stamps the worker as alive
(:func:`workers.overview.heartbeat`), for the console's "workers alive".
"""

from __future__ import annotations

import asyncio
import logging
import time

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers import keys, scripts
from workers.approvals import ApprovalStore
from workers.codec import text
from workers.decisions import expire_due
from workers.inbox import JobQueue, new_id
from workers.overview import heartbeat
from workers.queue import QUEUE_NAME

logger = logging.getLogger(__name__)

REAP_INTERVAL = 5.0
MIN_AGE = 10.0


async def reap(redis: Redis, queue: JobQueue, *, min_age: float = MIN_AGE) -> list[str]:
    """Reschedule sessions whose drain job was lost; returns their keys."""
    now = time.time()
    rescheduled: list[str] = []
    candidates = await redis.zrangebyscore(keys.ACTIVE, "-inf", now - min_age)
    for raw in candidates:
        session_key = text(raw)
        old = await redis.get(keys.sched(session_key))
        if old is None:
            await redis.zrem(keys.ACTIVE, session_key)
            continue
        job_id = f"drain:{new_id()}"
        done = await scripts.run(
            redis,
            scripts.RESCHEDULE,
            [
                keys.sched(session_key),
                keys.lease(session_key),
                keys.ACTIVE,
                QUEUE_NAME,
                in_progress_key_prefix + text(old),
            ],
            [text(old), job_id, str(now), session_key, str(min_age)],
        )
        if done == 1:
            logger.warning("session %s lost its worker; rescheduled as %s", session_key, job_id)
            await queue.enqueue_drain(session_key, job_id)
            rescheduled.append(session_key)
    return rescheduled


async def expire(approvals: ApprovalStore, queue: JobQueue) -> int:
    """Expire due approvals, each announced and its parked turn resumed (one call each)."""
    return len(await expire_due(approvals, queue))


async def run_forever(
    redis: Redis, approvals: ApprovalStore, queue: JobQueue, worker_id: str
) -> None:
    """The upkeep loop; errors are logged and the loop goes on."""
    while True:
        try:
            await heartbeat(redis, worker_id)
            await reap(redis, queue)
            await expire(approvals, queue)
        except RedisError as exc:
            logger.warning("upkeep could not reach Redis (%s); trying again", exc)
        await asyncio.sleep(REAP_INTERVAL)
