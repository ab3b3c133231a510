"""Publish a turn's events to the gateway: the Redis outbox stream.

Every event goes to ``facio:outbox`` (read by the gateway's consumer group,
rendered, then acknowledged) and to ``facio:events:{sk}`` (capped, and gone a
day after the session's last event; the HTTP API's SSE replays it), and
stamps the session's last activity (``facio:sessions:activity``). Approval
events (``approval_request``, ``approval_decided``) of every session also go
to ``facio:approvals:events``, capped and expiring the same way: the
console's live inbox reads that one stream instead of every session's. Streamed
chunks are coalesced — one entry per ``FLUSH_INTERVAL`` or ``FLUSH_BYTES``
buffered characters — so a long answer is tens of entries, not thousands.
Final events carry an ``idempotency_key`` derived from the turn and the
history position, so a retried turn that publishes a step again is
recognised and dropped by the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from core import wire
from core.events import (
    MAIN_AGENT,
    AgentEvent,
    CodeExecutionOutputChunk,
    ResponseChunk,
    ThoughtsChunk,
    wire_type,
)
from core.inbound import Inbound
from workers import keys
from workers.outbox_reader import MAX_AGE

FLUSH_INTERVAL = 0.1
FLUSH_BYTES = 2048
OUTBOX_RETENTION = MAX_AGE
"""Seconds an entry stays in the outbox. Trimmed by age, not by count: a count
cap would cut entries a gateway that was down for a while has not read yet
(ten streaming turns fill 10,000 entries in minutes), while an entry older than
this would not be rendered anyway (workers.outbox_reader.MAX_AGE)."""
EVENTS_MAXLEN = 1_000
EVENTS_TTL = 24 * 3600
"""Seconds a session's event stream outlives its last event. It is a replay
buffer for SSE clients that reconnect, not a record (the history is): without
an expiry every idle session would keep up to EVENTS_MAXLEN events (~400 KB)
in Redis for good, ~8× its history after a few turns (docs/benchmarks.md)."""
APPROVAL_EVENTS_MAXLEN = 1_000
"""Entries ``facio:approvals:events`` keeps (about): a replay buffer for the
console's reconnects, not a record (decided approvals are indexed apart)."""
APPROVAL_EVENTS = (wire.ApprovalRequestEvent, wire.ApprovalDecidedEvent)

Chunk = ResponseChunk | ThoughtsChunk | CodeExecutionOutputChunk


class Outbox:
    """Appends wire events to the outbox and the session's event stream."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, event: wire.Envelope) -> None:
        """Append ``event`` (its :meth:`~core.wire.Envelope.to_wire` JSON) to its streams."""
        fields: dict[Any, Any] = {"data": json.dumps(event.to_wire(), ensure_ascii=False)}
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            oldest = int((now - OUTBOX_RETENTION) * 1000)
            pipe.xadd(keys.OUTBOX, fields, minid=str(oldest), approximate=False)
            stream = keys.events(event.session_key)
            pipe.xadd(stream, fields, maxlen=EVENTS_MAXLEN, approximate=True)
            pipe.expire(stream, EVENTS_TTL)
            pipe.zadd(keys.SESSION_ACTIVITY, {event.session_key: now})
            if isinstance(event, APPROVAL_EVENTS):
                feed = keys.APPROVAL_EVENTS
                pipe.xadd(feed, fields, maxlen=APPROVAL_EVENTS_MAXLEN, approximate=True)
                pipe.expire(feed, EVENTS_TTL)
            await pipe.execute()


class TurnPublisher:
    """The events of one turn, with chunks coalesced and keys attached."""

    def __init__(
        self,
        outbox: Outbox,
        inbound: Inbound,
        turn_id: str,
        position: Callable[[], int],
    ) -> None:
        self.outbox = outbox
        self.inbound = inbound
        self.turn_id = turn_id
        self.position = position
        """The history length now: final events are keyed by where they sit in it."""
        self._buffer: dict[tuple[type, str], list[str]] = {}
        self._buffered = 0
        """Characters waiting in the buffer (kept, not recounted per chunk)."""
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        """One send at a time, so entries land in the order the turn made them."""
        self.published = 0

    def envelope(self, key: str | None) -> dict[str, Any]:
        """How this turn's events are addressed; ``key`` is the idempotency key (finals)."""
        fields: dict[str, Any] = {
            "session_key": self.inbound.session_key,
            "turn_id": self.turn_id,
            "channel": self.inbound.channel,
            "bot": self.inbound.bot,
            "reply_to": self.inbound.reply_to,
            "user_id": self.inbound.user_id,
            "ts": time.time(),
        }
        if key is not None:
            fields["idempotency_key"] = key
        return fields

    async def _send(self, event: wire.Envelope) -> None:
        await self.outbox.publish(event)
        self.published += 1

    async def runtime(
        self, kind: type[wire.Envelope], key: str | None = None, **fields: Any
    ) -> None:
        """A runtime event (``TurnStartedEvent``, ``TurnFinishedEvent``, ``ErrorEvent``…)."""
        async with self._lock:
            await self._flush_locked()
            if key is None:
                key = f"{self.turn_id}:{kind.model_fields['type'].default}"
            # every wire event names an agent (DESIGN.md "Events")
            await self._send(kind(**self.envelope(key), agent_id=MAIN_AGENT, **fields))

    async def event(self, event: AgentEvent, *, key: str | None = None, **extra: Any) -> None:
        """Publish an agent event; chunks are buffered, everything else flushes them first."""
        if isinstance(event, Chunk):
            text = event.content if not isinstance(event, CodeExecutionOutputChunk) else event.text
            slot = (type(event), event.agent_id)
            self._buffer.setdefault(slot, []).append(text)
            self._buffered += len(text)
            if self._flusher is None:
                self._flusher = asyncio.create_task(self._flush_later())
            if self._buffered >= FLUSH_BYTES:
                await self.flush()
            return
        if key is None:
            key = f"{self.turn_id}:m{self.position()}:{wire_type(type(event))}"
        data = wire.from_agent(event, self.envelope(key), **extra)
        async with self._lock:
            await self._flush_locked()
            await self._send(data)

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL)
        self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        """Send the buffered chunks, one entry per kind and agent."""
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        buffered, self._buffer, self._buffered = self._buffer, {}, 0
        for (kind, agent_id), parts in buffered.items():
            field = "text" if kind is CodeExecutionOutputChunk else "content"
            chunk = kind(**{field: "".join(parts), "agent_id": agent_id})
            await self._send(wire.from_agent(chunk, self.envelope(None)))

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
