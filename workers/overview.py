"""What the runtime is doing, for a person: workers alive and each session's state.

Workers announce themselves: every upkeep round (:mod:`workers.maintenance`,
every ``REAP_INTERVAL`` seconds) a worker stamps its id in ``keys.WORKERS``
(a zset scored by the time); one not seen for ``WORKER_STALE`` seconds counts
as gone and is dropped on the next read. A worker that stops cleanly removes
itself at once.

A session's state is read from the keys the drain protocol keeps anyway
(docs/runtime.md, "Redis keys"), nothing new is written for it:

    parked                 facio:parked:{sk} — its tool step waits for approvals, no worker holds it
    waiting_for_approval   a pending approval, held in process by a worker
    running                leased by a worker, or turns queued or scheduled
    idle                   none of these

Last activity is ``keys.SESSION_ACTIVITY``, stamped by every published event
(:class:`workers.outbox.Outbox`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from workers import keys
from workers.approval_record import ApprovalRecord
from workers.codec import text

__all__ = [
    "WORKER_STALE",
    "SessionState",
    "SessionStatus",
    "activity_keys",
    "heartbeat",
    "leave",
    "live_workers",
    "session_states",
]

WORKER_STALE = 15.0
"""Seconds without a heartbeat after which a worker counts as gone: three
upkeep rounds (``workers.maintenance.REAP_INTERVAL``)."""

SessionStatus = Literal["idle", "running", "waiting_for_approval", "parked"]


@dataclass(frozen=True, slots=True)
class SessionState:
    """One session as the console lists it."""

    session_key: str
    channel: str
    state: SessionStatus
    last_activity: float | None
    """Epoch seconds of its newest event; None when it published none since this was kept."""
    queued: int
    """Turns in its inbox (the running one included: it is popped when it ends)."""
    pending_approvals: int


async def heartbeat(redis: Redis, worker_id: str) -> None:
    """Stamp ``worker_id`` as alive now."""
    await redis.zadd(keys.WORKERS, {worker_id: time.time()})


async def leave(redis: Redis, worker_id: str) -> None:
    """Forget ``worker_id`` (a clean stop)."""
    await redis.zrem(keys.WORKERS, worker_id)


async def live_workers(redis: Redis) -> list[tuple[str, float]]:
    """Workers seen within ``WORKER_STALE`` seconds, with when; the stale are dropped."""
    now = time.time()
    await redis.zremrangebyscore(keys.WORKERS, "-inf", now - WORKER_STALE)
    found = await redis.zrange(keys.WORKERS, 0, -1, withscores=True)
    return [(text(worker), float(seen)) for worker, seen in found]


def _status(*, pending: int, parked: bool, leased: bool, queued: int, sched: bool) -> SessionStatus:
    if parked:
        return "parked"
    if pending:
        return "waiting_for_approval"
    if leased or queued or sched:
        return "running"
    return "idle"


async def session_states(
    redis: Redis, session_keys: Iterable[str], pending: Iterable[ApprovalRecord]
) -> list[SessionState]:
    """The state of each session (plus those with pending approvals), newest activity first."""
    waiting = Counter(record.session_key for record in pending)
    known = sorted(set(session_keys) | set(waiting))
    async with redis.pipeline(transaction=False) as pipe:
        for sk in known:
            pipe.exists(keys.lease(sk))
            pipe.exists(keys.parked(sk))
            pipe.llen(keys.inbox(sk))
            pipe.exists(keys.sched(sk))
            pipe.zscore(keys.SESSION_ACTIVITY, sk)
        replies = await pipe.execute()
    states: list[SessionState] = []
    for index, sk in enumerate(known):
        leased, parked, queued, sched, last = replies[index * 5 : index * 5 + 5]
        status = _status(
            pending=waiting[sk],
            parked=bool(parked),
            leased=bool(leased),
            queued=int(queued),
            sched=bool(sched),
        )
        states.append(
            SessionState(
                session_key=sk,
                channel=sk.partition(":")[0],
                state=status,
                last_activity=float(last) if last is not None else None,
                queued=int(queued),
                pending_approvals=waiting[sk],
            )
        )
    states.sort(key=lambda s: (-(s.last_activity or 0.0), s.session_key))
    return states


async def activity_keys(redis: Redis) -> list[str]:
    """Sessions that published an event (their last activity is known)."""
    return [text(sk) for sk in await redis.zrange(keys.SESSION_ACTIVITY, 0, -1)]
