"""The runtime as the gateway's channels see it: one client, the one door into ``workers``.

Channels (the platforms and the HTTP API) never run the agent (docs/design.md rule
7): they queue turns, stop them, decide approvals, read what the workers
published, and keep a little state of their own in Redis. Everything they
need from the runtime is a method here, so a channel is written against this
one object and no module under ``channels/`` imports ``workers`` but this
one. The types a channel handles (approval records, decisions, decide
outcomes) are re-exported from here too.

    runtime = await RuntimeClient.connect("redis://127.0.0.1:6379")
    submitted = await runtime.submit(inbound)
    result = await runtime.decide(approval_id, Decision.APPROVE, "@alice")
    made = await runtime.schedule(config, session_key="api:me", prompt="…", cron="0 8 * * *")
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, cast

from arq.connections import ArqRedis
from redis.asyncio import Redis

from core.config import FacioConfig
from core.inbound import Inbound
from core.messages import Message
from core.wire import WireEvent
from workers import keys
from workers.approval_record import (
    ABANDONED_BY,
    API_OPERATOR,
    ApprovalRecord,
    DecideOutcome,
    DecideResult,
    Decision,
    InvalidDecisionError,
    parse_decision,
)
from workers.approvals import ApprovalStore
from workers.codec import read_event, text
from workers.decisions import decide
from workers.inbox import SEEN_TTL, Submitted, request_stop, submit
from workers.lease import Lease
from workers.outbox import UNRENDERED
from workers.outbox_partitions import LEASE_TTL as PARTITION_TTL
from workers.outbox_partitions import PartitionOwner
from workers.outbox_reader import MAX_AGE, Entry, OutboxReader
from workers.overview import (
    WORKER_STALE,
    SessionState,
    SessionStatus,
    activity_keys,
    live_workers,
    session_states,
)
from workers.queue import ArqJobQueue
from workers.redis_calls import hdel, hgetall, hset
from workers.runtime import worker_id
from workers.schedules import (
    ConfigScheduleError,
    InvalidScheduleError,
    Scheduled,
    ScheduleError,
    ScheduleLimitError,
    ScheduleNotFoundError,
    ScheduleRecord,
    ScheduleStore,
    clock_from_env,
    timing_of,
)
from workers.schedules.chat import list_for_session, unschedule
from workers.stores import RedisSessionStore, forget_session
from workers.worker import connect

partition_stream = keys.partition_stream
"""The stream name of an outbox partition."""

__all__ = [
    "ABANDONED_BY",
    "API_OPERATOR",
    "MAX_AGE",
    "PARTITION_TTL",
    "SEEN_TTL",
    "UNRENDERED",
    "WORKER_STALE",
    "ApprovalRecord",
    "ConfigScheduleError",
    "DecideOutcome",
    "DecideResult",
    "Decision",
    "Entry",
    "InvalidDecisionError",
    "InvalidScheduleError",
    "Lease",
    "OutboxReader",
    "PartitionOwner",
    "RuntimeClient",
    "ScheduleError",
    "ScheduleLimitError",
    "ScheduleNotFoundError",
    "ScheduleRecord",
    "Scheduled",
    "SessionState",
    "SessionStatus",
    "StoredEvent",
    "Submitted",
    "hdel",
    "hgetall",
    "hset",
    "parse_decision",
    "partition_stream",
    "text",
    "worker_id",
]

KEY_PREFIX = keys.PREFIX
"""Every Redis key of facio starts with it; a channel's own keys are ``facio:<channel>:…``."""

StoredEvent = tuple[str, dict[str, Any] | None, str]
"""An entry of a session's event stream: its id, the event (None: unreadable), the raw JSON."""


class RuntimeClient:
    """Turns, approvals, sessions and events, on the gateway's Redis (see the module docstring).

    ``redis`` is arq's pool (bytes replies); channels may also keep state of
    their own in it, under :meth:`key`.
    """

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis
        self.queue = ArqJobQueue(redis)
        self.approvals = ApprovalStore(redis)
        self.sessions = RedisSessionStore(redis)
        self.schedule_clock = clock_from_env()
        """The schedules' clock, as the workers read it (test-only override included)."""

    @classmethod
    async def connect(cls, url: str) -> RuntimeClient:
        """A client on a new pool to ``url`` (closed by :meth:`aclose`)."""
        return cls(await connect(url))

    async def aclose(self) -> None:
        await self.redis.aclose()

    @staticmethod
    def key(channel: str, *parts: str | int) -> str:
        """A key of a channel's own state: ``facio:<channel>:<part>:<part>…``."""
        return ":".join([KEY_PREFIX + channel, *(str(p) for p in parts)])

    # turns -----------------------------------------------------------------

    async def submit(
        self, inbound: Inbound, *, command: Literal["message", "reset"] = "message"
    ) -> Submitted:
        """Queue ``inbound`` as a turn of its session (deduped by its ``event_id``).

        Shielded: a caller cancelled between queueing and scheduling must not
        leave a turn queued with no drain job.
        """
        return await asyncio.shield(submit(self.redis, inbound, self.queue, command=command))

    async def busy(self, session_key: str) -> bool:
        """Is a turn of the session running, queued or parked?"""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.exists(keys.lease(session_key))
            pipe.llen(keys.inbox(session_key))
            pipe.exists(keys.parked(session_key))
            leased, queued, parked = await pipe.execute()
        return bool(leased or queued or parked)

    async def stop(self, session_key: str) -> None:
        """Cancel the session's running or parked turn (``/stop``)."""
        await request_stop(self.redis, session_key, self.queue)

    async def claim_event(self, channel: str, event_id: str, ttl: int = SEEN_TTL) -> bool:
        """True the first time a platform event is seen: for events that are not turns
        (clicks, commands, refusals), which :meth:`submit` does not dedupe itself."""
        return bool(await self.redis.set(keys.seen(channel, event_id), "1", nx=True, ex=ttl))

    async def event_seen(self, channel: str, event_id: str) -> bool:
        """True when :meth:`claim_event` claimed ``event_id`` before."""
        return bool(await self.redis.exists(keys.seen(channel, event_id)))

    # approvals -------------------------------------------------------------

    async def approval(self, approval_id: str) -> ApprovalRecord | None:
        return await self.approvals.get(approval_id)

    async def pending_approvals(self, session_key: str | None = None) -> list[ApprovalRecord]:
        """Pending approvals that can still be decided, oldest first."""
        return await self.approvals.pending(session_key=session_key)

    async def decided_approvals(self, limit: int = 50) -> list[ApprovalRecord]:
        """The newest decided or expired approvals, newest first."""
        return await self.approvals.decided(limit=limit)

    async def decide(
        self, approval_id: str, decision: Decision, who: str, *, operator: bool = False
    ) -> DecideResult:
        """Decide through the one compare-and-set, which also announces the decision,
        records its rule and resumes a parked turn (workers.decisions).

        Shielded: a caller cancelled (a click handler, an HTTP request whose
        client left) does not cut what follows the script's answer.
        """
        return await asyncio.shield(
            decide(
                self.approvals,
                self.queue,
                approval_id,
                decision,
                who,
                operator=operator,
            )
        )

    # sessions --------------------------------------------------------------

    async def history(self, session_key: str) -> list[Message]:
        return await self.sessions.load(session_key)

    async def session_keys(self) -> list[str]:
        return await self.sessions.keys()

    async def known(self, session_key: str) -> bool:
        """Has the session a history (even an empty one, after a reset)?"""
        member = self.redis.sismember(keys.SESSIONS, session_key)
        return bool(await cast(Awaitable[int], member))

    async def has_work(self, session_key: str) -> bool:
        """Has the session a history, queued turns or a drain job?"""
        sk = session_key
        return bool(await self.redis.exists(keys.history(sk), keys.inbox(sk), keys.sched(sk)))

    async def session_states(self) -> list[SessionState]:
        """Every known session's channel, state and last activity, newest activity first."""
        known = {*await self.session_keys(), *await activity_keys(self.redis)}
        return await session_states(self.redis, known, await self.pending_approvals())

    async def session_state(self, session_key: str) -> SessionState:
        """One session's state (``idle`` for one the runtime knows nothing of)."""
        pending = await self.pending_approvals(session_key)
        (state,) = await session_states(self.redis, [session_key], pending)
        return state

    async def forget(self, session_key: str) -> None:
        """Drop the history and the session's rules at once (nothing runs)."""
        await asyncio.shield(forget_session(self.redis, session_key))

    # events ----------------------------------------------------------------

    def reader(self) -> Redis:
        """A client on a connection of its own, for blocking reads (close it after use)."""
        return Redis(connection_pool=self.redis.connection_pool, single_connection_client=True)

    async def last_event_id(self, session_key: str, reader: Redis | None = None) -> str:
        """The id of the session's newest event, ``0-0`` when it has none."""
        newest = await (reader or self.redis).xrevrange(keys.events(session_key), count=1)
        return text(newest[0][0]) if newest else "0-0"

    async def read_events(
        self, reader: Redis, session_key: str, after: str, *, block: float, count: int = 100
    ) -> list[StoredEvent]:
        """The session's events after ``after``, waiting up to ``block`` seconds for one."""
        return await _read(reader, keys.events(session_key), after, block=block, count=count)

    async def last_approval_event_id(self, reader: Redis | None = None) -> str:
        """The id of the newest approval event of any session, ``0-0`` when there is none."""
        newest = await (reader or self.redis).xrevrange(keys.APPROVAL_EVENTS, count=1)
        return text(newest[0][0]) if newest else "0-0"

    async def read_approval_events(
        self, reader: Redis, after: str, *, block: float, count: int = 100
    ) -> list[StoredEvent]:
        """Approval events of every session after ``after`` (``approval_request``,
        ``approval_decided``), waiting up to ``block`` seconds for one."""
        return await _read(reader, keys.APPROVAL_EVENTS, after, block=block, count=count)

    def outbox_reader(
        self,
        consumer: str,
        render: Callable[[WireEvent], Awaitable[None]],
        *,
        max_age: float = MAX_AGE,
        streams: Sequence[str] = (),
    ) -> OutboxReader:
        """This gateway's reader of the outbox (one consumer of the ``gateway`` group)."""
        return OutboxReader(self.redis, consumer, render, max_age=max_age, streams=streams)

    def partitions(self, name: str, *, ttl: float = PARTITION_TTL) -> PartitionOwner:
        """This gateway's share of the outbox partitions (workers.outbox_partitions)."""
        return PartitionOwner(self.redis, name, ttl=ttl)

    # upkeep ----------------------------------------------------------------

    def lease(self, key: str, ttl: float, *, name: str = "") -> Lease:
        """A single-holder lease on ``key`` (one poller or socket per bot token)."""
        return Lease(self.redis, key, ttl, name=name)

    async def live_workers(self) -> list[tuple[str, float]]:
        """Workers that sent a heartbeat within ``WORKER_STALE`` seconds, with when."""
        return await live_workers(self.redis)

    async def queue_depth(self) -> tuple[int, int]:
        """Turns waiting in the inboxes of active sessions, and pending approvals."""
        active = await self.redis.zrange(keys.ACTIVE, 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for raw in active:
                pipe.llen(keys.inbox(text(raw)))
            pipe.zcard(keys.PENDING_APPROVALS)
            *lengths, pending = await pipe.execute()
        return sum(lengths), int(pending)

    # schedules -------------------------------------------------------------

    def schedules(self, config: FacioConfig) -> ScheduleStore:
        """The schedules on this Redis, under ``config``'s caps and default zone."""
        return ScheduleStore(self.redis, config, clock=self.schedule_clock)

    async def list_schedules(
        self, config: FacioConfig, session_key: str | None = None
    ) -> list[Scheduled]:
        """Every schedule (or one session's), soonest first."""
        return await self.schedules(config).list(session_key)

    async def schedule(
        self,
        config: FacioConfig,
        *,
        session_key: str,
        prompt: str,
        cron: str | None = None,
        at: str | None = None,
        every: int | None = None,
        timezone: str | None = None,
    ) -> Scheduled:
        """A schedule made by the operator (the API): its turns run as the scheduler,
        decided by the channel's approvers and the operator. InvalidScheduleError or
        ScheduleLimitError say why one is refused."""
        store = self.schedules(config)
        timing = timing_of(
            config, store.clock.now(), cron=cron, at=at, every=every, timezone=timezone
        )
        return await store.create(
            session_key=session_key,
            prompt=prompt,
            timing=timing,
            source="api",
            created_by=API_OPERATOR,
            origin=store.operator_origin(session_key, "operator"),
        )

    async def cancel_schedule(self, config: FacioConfig, schedule_id: str) -> ScheduleRecord:
        """Cancel any schedule but a config job (ScheduleNotFoundError, ConfigScheduleError)."""
        return await self.schedules(config).cancel(schedule_id)

    async def schedules_text(self, config: FacioConfig, session_key: str) -> str:
        """The reply to ``/schedules``: the conversation's schedules with ids and next runs."""
        return await list_for_session(self.schedules(config), session_key)

    async def unschedule(self, config: FacioConfig, session_key: str, args: str, by: str) -> str:
        """The reply to ``/unschedule ID``: cancels one of the conversation's own schedules
        (another conversation's id is "not found"; a config job is refused)."""
        return await unschedule(self.schedules(config), session_key, args, by=by)


async def _read(
    reader: Redis, stream: str, after: str, *, block: float, count: int
) -> list[StoredEvent]:
    """Entries of ``stream`` after ``after``, waiting up to ``block`` seconds for one."""
    reply = await reader.xread({stream: after}, count=count, block=max(int(block * 1000), 1))
    found: list[StoredEvent] = []
    for _stream, entries in reply or []:
        for raw_id, fields in entries:
            entry_id = text(raw_id)
            raw = fields.get(b"data", fields.get("data"))
            found.append((entry_id, read_event(entry_id, fields), text(raw) if raw else ""))
    return found
