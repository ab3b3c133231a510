"""The gateway's side of the outbox: read, render, acknowledge (docs/runtime.md).

At-least-once: entries are read through the consumer group ``gateway`` of each
outbox partition this gateway holds (:mod:`workers.outbox_partitions`) and
acknowledged only after the renderer returned, so a gateway that dies
mid-render leaves them pending. The gateway that takes a partition over —
another one, or the same one started again — first takes every entry left
pending in it (:meth:`OutboxReader.take_over`) and renders them in order,
before anything new. A final event whose idempotency key was already rendered
(a retried turn publishing a step again) is acknowledged without rendering.
Entries older than ``MAX_AGE`` are acknowledged without rendering — a reply
hours late is worse than none — and logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from core.wire import WireEvent, parse_wire
from workers import keys
from workers.codec import text

logger = logging.getLogger(__name__)

GROUP = "gateway"
MAX_AGE = 600.0
DELIVERED_TTL = 24 * 3600
BLOCK_MS = 1000
READ_COUNT = 100

Render = Callable[[WireEvent], Awaitable[None]]


class Entry(NamedTuple):
    """An outbox entry: its stream (the partition), its id and its fields."""

    stream: str
    id: str
    fields: dict[Any, Any]


class OutboxReader:
    """Reads outbox partitions as one consumer of the gateway group."""

    def __init__(
        self,
        redis: Redis,
        consumer: str,
        render: Render,
        *,
        max_age: float = MAX_AGE,
        streams: Sequence[str] = (keys.OUTBOX,),
    ) -> None:
        self.redis = redis
        self.consumer = consumer
        self.render = render
        self.max_age = max_age
        self.streams: list[str] = list(streams)
        """The partitions read now (the gateway's partition leases decide)."""
        self.rendered = 0
        self.dropped_stale = 0
        self.dropped_duplicate = 0

    async def _group_exists(self, stream: str) -> bool:
        if not await self.redis.exists(stream):
            return False
        groups = await self.redis.xinfo_groups(stream)
        return any(text(g["name"]) == GROUP for g in groups)

    async def ensure_group(self, stream: str | None = None) -> None:
        """Create the consumer group of ``stream`` (or of every stream read) if needed."""
        for name in [stream] if stream is not None else self.streams:
            if await self._group_exists(name):
                continue
            try:
                await self.redis.xgroup_create(name, GROUP, id="0", mkstream=True)
            except ResponseError:
                if not await self._group_exists(name):  # not a lost race with another gateway
                    raise

    async def take_over(self, stream: str, *, min_idle: float = 0.0) -> list[Entry]:
        """Every entry pending in ``stream`` — read by any consumer, never acknowledged —
        now this consumer's, oldest first. Entries trimmed from the stream meanwhile come
        back empty: they are acknowledged here (nothing is left to render)."""
        claimed: list[Entry] = []
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                stream, GROUP, self.consumer, int(min_idle * 1000), start, count=READ_COUNT
            )
            start, entries = text(reply[0]), reply[1]
            for entry_id, fields in entries:
                if fields:
                    claimed.append(Entry(stream, text(entry_id), fields))
                else:
                    await self.redis.xack(stream, GROUP, text(entry_id))
            if start == "0-0":
                return sorted(claimed, key=lambda e: _order(e.id))

    async def fetch(self, block_ms: int = BLOCK_MS) -> list[Entry]:
        """New entries of the streams read, waiting up to ``block_ms`` for the first."""
        if not self.streams:
            return []
        reply = await self.redis.xreadgroup(
            GROUP,
            self.consumer,
            dict.fromkeys(self.streams, ">"),
            count=READ_COUNT,
            block=block_ms,
        )
        return [
            Entry(text(stream), text(entry_id), fields)
            for stream, entries in reply or []
            for entry_id, fields in entries
        ]

    async def read_once(self, block_ms: int = BLOCK_MS) -> int:
        """Handle new entries one by one (waiting up to ``block_ms``); returns how many."""
        entries = await self.fetch(block_ms)
        for entry in entries:
            await self.handle(entry)
        return len(entries)

    async def ack(self, entry: Entry) -> None:
        await self.redis.xack(entry.stream, GROUP, entry.id)

    @staticmethod
    def decode(entry: Entry) -> WireEvent | None:
        """The event an entry carries, parsed once; None (logged) when it holds none:
        not JSON, not an object, a malformed event, or a type this version does not know."""
        raw = entry.fields.get(b"data", entry.fields.get("data"))
        try:
            data = json.loads(raw) if raw is not None else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            logger.error("outbox entry %s is not an event; dropped", entry.id)
            return None
        try:
            return parse_wire(data)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            logger.error(
                "outbox entry %s is a malformed %s event (%s: %s); dropped",
                entry.id,
                data.get("type"),
                where,
                problem["msg"],
            )
            return None

    async def handle(self, entry: Entry) -> None:
        """Decode one entry and :meth:`deliver` it."""
        await self.deliver(entry, self.decode(entry))

    async def deliver(self, entry: Entry, event: WireEvent | None) -> None:
        """Render one decoded entry (unless stale or already delivered), then acknowledge.

        A renderer that raises leaves the entry pending: the caller decides
        (the gateway's consumer logs and acknowledges; a crash leaves it for
        whoever takes the partition over).
        """
        key = event.idempotency_key if event is not None else None
        if event is None:
            pass  # decode said why
        elif self._age(event) > self.max_age:
            self.dropped_stale += 1
            logger.warning(
                "outbox entry %s (%s for %s) is older than %.0f s; not rendered",
                entry.id,
                event.type,
                event.session_key,
                self.max_age,
            )
            key = None
        elif key and await self.redis.exists(keys.delivered(key)):
            self.dropped_duplicate += 1
            key = None
        else:
            await self.render(event)
            self.rendered += 1
        # after rendering, not before: a crash in between renders twice (rare, visible)
        # instead of never (silent); the mark and the acknowledgement go together
        async with self.redis.pipeline(transaction=False) as pipe:
            if key:
                pipe.set(keys.delivered(key), "1", ex=DELIVERED_TTL)
            pipe.xack(entry.stream, GROUP, entry.id)
            await pipe.execute()

    @staticmethod
    def _age(event: WireEvent) -> float:
        """Seconds since the event was published (0 when it carries no time)."""
        return time.time() - event.ts if event.ts else 0.0


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
