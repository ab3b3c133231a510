"""The gateway's side of the outbox: read, render, acknowledge (docs/runtime.md).

At-least-once: entries are read through the consumer group ``gateway`` and
acknowledged only after the renderer returned, so a gateway that dies
mid-render leaves them pending. A gateway restarted under the same consumer
name takes its own pending entries back first (:meth:`OutboxReader.own_pending`),
at once and in order; any gateway claims entries pending longer than
``CLAIM_IDLE`` from any consumer (``XAUTOCLAIM``), which covers a gateway that
never comes back. A final event whose idempotency key was already rendered (a retried
turn publishing a step again) is acknowledged without rendering. Entries older than
``MAX_AGE`` are acknowledged without rendering — a reply hours late is worse
than none — and logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from core.wire import WireEvent, parse_wire
from workers import keys
from workers.codec import text

logger = logging.getLogger(__name__)

GROUP = "gateway"
CLAIM_IDLE = 60.0
MAX_AGE = 600.0
DELIVERED_TTL = 24 * 3600
BLOCK_MS = 1000

Render = Callable[[WireEvent], Awaitable[None]]
Entry = tuple[str, dict[Any, Any]]
"""A stream entry: its id and its fields."""


class OutboxReader:
    """Reads the outbox as one consumer of the gateway group."""

    def __init__(
        self,
        redis: Redis,
        consumer: str,
        render: Render,
        *,
        max_age: float = MAX_AGE,
        claim_idle: float = CLAIM_IDLE,
    ) -> None:
        self.redis = redis
        self.consumer = consumer
        self.render = render
        self.max_age = max_age
        self.claim_idle = claim_idle
        self.rendered = 0
        self.dropped_stale = 0
        self.dropped_duplicate = 0

    async def _group_exists(self) -> bool:
        if not await self.redis.exists(keys.OUTBOX):
            return False
        groups = await self.redis.xinfo_groups(keys.OUTBOX)
        return any(text(g["name"]) == GROUP for g in groups)

    async def ensure_group(self) -> None:
        if await self._group_exists():
            return
        try:
            await self.redis.xgroup_create(keys.OUTBOX, GROUP, id="0", mkstream=True)
        except ResponseError:
            if not await self._group_exists():  # not a lost race with another gateway
                raise

    async def claimable(self) -> list[Entry]:
        """Entries a dead consumer left pending for longer than ``claim_idle``, now ours.

        Entries trimmed from the stream meanwhile come back empty: they are
        acknowledged here (nothing is left to render).
        """
        claimed: list[Entry] = []
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                keys.OUTBOX, GROUP, self.consumer, int(self.claim_idle * 1000), start, count=100
            )
            start, entries = text(reply[0]), reply[1]
            for entry_id, fields in entries:
                if fields:
                    claimed.append((text(entry_id), fields))
                else:
                    await self.ack(text(entry_id))
            if start == "0-0":
                return claimed

    async def own_pending(self) -> list[Entry]:
        """Entries this consumer read earlier and never acknowledged, oldest first.

        A gateway restarted under the same name (it died, or was stopped,
        mid-render) gets them back at once, before anything new: no waiting
        for ``claim_idle``, and a session's events keep their order. Entries
        trimmed from the stream meanwhile come back empty and are acknowledged.
        """
        entries: list[Entry] = []
        start = "0-0"
        while True:
            reply = await self.redis.xreadgroup(
                GROUP, self.consumer, {keys.OUTBOX: start}, count=100
            )
            batch = [(text(i), f) for _stream, items in reply or [] for i, f in items]
            if not batch:
                return entries
            for entry_id, fields in batch:
                if fields:
                    entries.append((entry_id, fields))
                else:
                    await self.ack(entry_id)
            start = batch[-1][0]

    async def fetch(self, block_ms: int = BLOCK_MS) -> list[Entry]:
        """New entries for this consumer, waiting up to ``block_ms`` for the first."""
        reply = await self.redis.xreadgroup(
            GROUP, self.consumer, {keys.OUTBOX: ">"}, count=100, block=block_ms
        )
        return [
            (text(entry_id), fields)
            for _stream, entries in reply or []
            for entry_id, fields in entries
        ]

    async def claim(self) -> int:
        """Handle entries a dead consumer left pending, one by one; returns how many."""
        entries = await self.claimable()
        for entry_id, fields in entries:
            await self.handle(entry_id, fields)
        return len(entries)

    async def read_once(self, block_ms: int = BLOCK_MS) -> int:
        """Handle new entries one by one (waiting up to ``block_ms``); returns how many."""
        entries = await self.fetch(block_ms)
        for entry_id, fields in entries:
            await self.handle(entry_id, fields)
        return len(entries)

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(keys.OUTBOX, GROUP, entry_id)

    @staticmethod
    def decode(entry_id: str, fields: dict[Any, Any]) -> WireEvent | None:
        """The event an entry carries, parsed once; None (logged) when it holds none:
        not JSON, not an object, a malformed event, or a type this version does not know."""
        raw = fields.get(b"data", fields.get("data"))
        try:
            data = json.loads(raw) if raw is not None else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            logger.error("outbox entry %s is not an event; dropped", entry_id)
            return None
        try:
            return parse_wire(data)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            logger.error(
                "outbox entry %s is a malformed %s event (%s: %s); dropped",
                entry_id,
                data.get("type"),
                where,
                problem["msg"],
            )
            return None

    async def handle(self, entry_id: str, fields: dict[Any, Any]) -> None:
        """Decode one entry and :meth:`deliver` it."""
        await self.deliver(entry_id, self.decode(entry_id, fields))

    async def deliver(self, entry_id: str, event: WireEvent | None) -> None:
        """Render one decoded entry (unless stale or already delivered), then acknowledge.

        A renderer that raises leaves the entry pending: the caller decides
        (the gateway's consumer logs and acknowledges; a crash leaves it for
        whoever claims it).
        """
        if event is None:
            pass  # decode said why
        elif self._age(event) > self.max_age:
            self.dropped_stale += 1
            logger.warning(
                "outbox entry %s (%s for %s) is older than %.0f s; not rendered",
                entry_id,
                event.type,
                event.session_key,
                self.max_age,
            )
        elif await self._delivered_before(event):
            self.dropped_duplicate += 1
        else:
            await self.render(event)
            self.rendered += 1
            await self._mark_delivered(event)
        await self.ack(entry_id)

    @staticmethod
    def _age(event: WireEvent) -> float:
        """Seconds since the event was published (0 when it carries no time)."""
        return time.time() - event.ts if event.ts else 0.0

    async def _delivered_before(self, event: WireEvent) -> bool:
        key = event.idempotency_key
        return bool(key) and bool(await self.redis.exists(keys.delivered(str(key))))

    async def _mark_delivered(self, event: WireEvent) -> None:
        """After rendering, not before: a crash in between renders twice (rare,
        visible) instead of never (silent)."""
        if event.idempotency_key:
            await self.redis.set(keys.delivered(event.idempotency_key), "1", ex=DELIVERED_TTL)
