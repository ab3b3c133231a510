"""Queue a person's message as a turn of its session (docs/runtime.md, rule 1).

``submit`` pushes a :class:`TurnRequest` onto the session's inbox, deduped by
the platform's event id, and schedules one drain job when nobody owns the
session yet. The job queue is arq; the scripts are in :mod:`workers.scripts`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from arq.constants import job_key_prefix
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from core.inbound import Inbound
from workers import keys, scripts

QUEUE_NAME = "arq:queue"
"""arq's queue (a sorted set of job ids by the time they may start)."""

SEEN_TTL = 15 * 60
"""Seconds an event id is remembered: Slack's last retry comes ~5 minutes later."""
DRAIN_JOB = "drain_session"


def job_key(job_id: str) -> str:
    """arq's key of a job's payload (what the job runs with)."""
    return job_key_prefix + job_id


def new_id() -> str:
    return uuid.uuid4().hex


class TurnRequest(BaseModel):
    """One queued turn: the inbox item (JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turn_id: str = Field(default_factory=new_id)
    inbound: Inbound
    enqueued_at: float = Field(default_factory=time.time)
    command: Literal["message", "reset"] = "message"
    """``reset`` starts the session over when its turn comes (``/new``), so it
    never cuts into a running turn."""
    schedule_id: str | None = None
    """The schedule that started this turn (workers/schedules), shown in ``turn_started``."""


@dataclass(frozen=True)
class StagedJob:
    """A drain job as the queue stores it, written by the enqueue script itself, so that
    queueing a turn and starting its job is one call: arq's job key and payload, its
    expiry and its score (when it may start) in arq's queue."""

    key: str
    payload: bytes
    expires_ms: int
    score: int


class JobQueue(Protocol):
    """Starts drain jobs (arq in production)."""

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        """Enqueue the job (after a script decided it is needed), and ring the doorbell."""
        ...

    def stage(self, session_key: str, job_id: str) -> StagedJob | None:
        """The job for a script to write itself; None: call :meth:`enqueue_drain` after."""
        ...


@dataclass(frozen=True)
class Submitted:
    turn_id: str
    duplicate: bool
    """True when the platform event was seen before: nothing was queued."""


@dataclass(frozen=True)
class EnqueueCall:
    """The :data:`~workers.scripts.ENQUEUE` script's keys and arguments for one turn.

    :func:`submit` runs it; the schedules' fire script runs it after its own
    compare-and-set (workers/schedules/scripts.py), with its keys and
    arguments appended after these.
    """

    keys: list[str]
    args: list[str]
    job_id: str
    staged: StagedJob | None
    """None: the script only decides; :meth:`JobQueue.enqueue_drain` starts the job after."""


def enqueue_call(request: TurnRequest, queue: JobQueue) -> EnqueueCall:
    """How to queue ``request`` (deduped by its inbound's event id) and start its drain."""
    inbound = request.inbound
    job_id = f"drain:{new_id()}"
    seen = keys.seen(inbound.channel, inbound.event_id) if inbound.event_id else ""
    sk = inbound.session_key
    staged = queue.stage(sk, job_id)
    return EnqueueCall(
        [seen, keys.inbox(sk), keys.sched(sk), keys.ACTIVE, *_job_keys(staged)],
        [
            request.model_dump_json(),
            job_id,
            str(time.time()),
            sk,
            str(SEEN_TTL),
            *_job_args(staged),
        ],
        job_id,
        staged,
    )


async def submit(
    redis: Redis,
    inbound: Inbound,
    queue: JobQueue,
    *,
    command: Literal["message", "reset"] = "message",
) -> Submitted:
    """Queue ``inbound`` as a turn; schedule a drain when the session has none."""
    request = TurnRequest(inbound=inbound, command=command)
    call = enqueue_call(request, queue)
    result = await scripts.run(redis, scripts.ENQUEUE, call.keys, call.args)
    if result < 0:
        return Submitted(turn_id="", duplicate=True)
    if result == 1 and call.staged is None:
        await queue.enqueue_drain(inbound.session_key, call.job_id)
    return Submitted(turn_id=request.turn_id, duplicate=False)


def _job_keys(staged: StagedJob | None) -> list[str]:
    return [staged.key, QUEUE_NAME] if staged is not None else ["", ""]


def _job_args(staged: StagedJob | None) -> list[str]:
    if staged is None:
        return ["", "0", "0", keys.WAKE_CHANNEL]
    return [staged.payload.decode(), str(staged.expires_ms), str(staged.score), keys.WAKE_CHANNEL]


def schedule_call(session_key: str, queue: JobQueue) -> EnqueueCall:
    """The :data:`~workers.scripts.SCHEDULE` script's keys and arguments (a script
    that resumes a session in its own call appends them after its own)."""
    job_id = f"drain:{new_id()}"
    staged = queue.stage(session_key, job_id)
    return EnqueueCall(
        [keys.sched(session_key), keys.ACTIVE, *_job_keys(staged)],
        [job_id, str(time.time()), session_key, *_job_args(staged)],
        job_id,
        staged,
    )


async def schedule(redis: Redis, session_key: str, queue: JobQueue) -> bool:
    """Make sure a drain runs for ``session_key`` (after approvals were decided)."""
    call = schedule_call(session_key, queue)
    done = await scripts.run(redis, scripts.SCHEDULE, call.keys, call.args)
    if done == 1 and call.staged is None:
        await queue.enqueue_drain(session_key, call.job_id)
    return done == 1


STOP_TTL = 60


async def request_stop(redis: Redis, session_key: str, queue: JobQueue) -> None:
    """Cancel the session's running (or parked) turn: ``/stop``.

    The flag holds the time of the request: it stops turns queued before it,
    never a message sent after it. Workers hear of it on ``facio:stop`` (and
    sweep the flags of their running turns now and then: workers.stops); a
    parked turn is woken so that it can be closed.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.stop(session_key), str(time.time()), ex=STOP_TTL)
        pipe.publish(keys.STOP_CHANNEL, session_key)
        await pipe.execute()
    if await redis.exists(keys.parked(session_key)):
        await redis.delete(keys.parked(session_key))
        await schedule(redis, session_key, queue)
