"""arq as the job queue: JSON jobs (never pickle) and a wake-up on enqueue.

Drain jobs are usually written by facio's own enqueue scripts (``stage``: the
same job key, payload and queue entry as arq's ``enqueue_job`` writes), so
queueing a turn and starting its job is one Redis call; ``enqueue_drain`` is
arq's own path, for the rest. A worker reads a drain job back with
``drain_job`` (workers.worker starts it without arq's per-job bookkeeping).
"""

from __future__ import annotations

import json
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import DeserializationError, deserialize_job_raw, serialize_job
from arq.utils import timestamp_ms

from workers import keys
from workers.inbox import DRAIN_JOB, QUEUE_NAME, StagedJob, job_key

__all__ = ["QUEUE_NAME", "ArqJobQueue", "drain_job", "dumps", "loads"]


def dumps(data: dict[str, Any]) -> bytes:
    """arq's job_serializer: JSON, so that whoever can write to Redis cannot run
    code in a worker (docs/design.md rule 6). Non-JSON results (a failed job's
    exception) become their text."""
    return json.dumps(data, default=str, separators=(",", ":")).encode()


def loads(raw: bytes) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("an arq job must be a JSON object")
    return value


def drain_job(payload: bytes | None) -> tuple[str, int] | None:
    """A drain job's session key and enqueue time (ms) from its payload; None for
    anything else (no payload, not JSON, another function, other arguments)."""
    if payload is None:
        return None
    try:
        function, args, kwargs, _, enqueued_ms = deserialize_job_raw(payload, deserializer=loads)
    except DeserializationError:  # arq's own path reports it (workers.worker)
        return None
    if function != DRAIN_JOB or kwargs != {} or not isinstance(args, list) or len(args) != 1:
        return None
    (session_key,) = args
    if not isinstance(session_key, str) or type(enqueued_ms) is not int:
        return None
    return session_key, enqueued_ms


class ArqJobQueue:
    """Enqueues drain jobs and rings the workers' doorbell."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    def stage(self, session_key: str, job_id: str) -> StagedJob:
        """The drain job as arq's ``enqueue_job`` would write it, for a script to write."""
        now = timestamp_ms()
        payload = serialize_job(DRAIN_JOB, (session_key,), {}, None, now, serializer=dumps)
        return StagedJob(job_key(job_id), payload, self.pool.expires_extra_ms, now)

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        await self.pool.enqueue_job(DRAIN_JOB, session_key, _job_id=job_id)
        await self.pool.publish(keys.WAKE_CHANNEL, "1")
