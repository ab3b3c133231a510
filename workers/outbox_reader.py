"""The gateway's side of the outbox: read, render, acknowledge (docs/runtime.md).

At-least-once: entries are read through the consumer group ``gateway`` and
acknowledged only after the renderer returned, so a gateway that dies
mid-render leaves them pending; the next gateway claims entries pending
longer than ``CLAIM_IDLE`` from any consumer (``XAUTOCLAIM``) before reading
new ones. A final event whose idempotency key was already rendered (a retried
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

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from workers import keys
from workers.codec import text

logger = logging.getLogger(__name__)

GROUP = "gateway"
CLAIM_IDLE = 60.0
MAX_AGE = 600.0
DELIVERED_TTL = 24 * 3600
BLOCK_MS = 1000

Render = Callable[[dict[str, Any]], Awaitable[None]]


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

    async def claim(self) -> int:
        """Handle entries a dead consumer left pending; returns how many."""
        handled = 0
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                keys.OUTBOX, GROUP, self.consumer, int(self.claim_idle * 1000), start, count=100
            )
            start, entries = text(reply[0]), reply[1]
            for entry_id, fields in entries:
                if fields:  # a trimmed entry comes back empty
                    await self._handle(text(entry_id), fields)
                    handled += 1
                else:
                    await self.redis.xack(keys.OUTBOX, GROUP, entry_id)
            if start == "0-0":
                return handled

    async def read_once(self, block_ms: int = BLOCK_MS) -> int:
        """Handle new entries (waiting up to ``block_ms``); returns how many."""
        reply = await self.redis.xreadgroup(
            GROUP, self.consumer, {keys.OUTBOX: ">"}, count=100, block=block_ms
        )
        handled = 0
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                await self._handle(text(entry_id), fields)
                handled += 1
        return handled

    async def _handle(self, entry_id: str, fields: dict[Any, Any]) -> None:
        raw = fields.get(b"data", fields.get("data"))
        try:
            event = json.loads(raw) if raw is not None else None
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict):
            logger.error("outbox entry %s is not an event; dropped", entry_id)
        elif time.time() - float(event.get("ts", time.time())) > self.max_age:
            self.dropped_stale += 1
            logger.warning(
                "outbox entry %s (%s for %s) is older than %.0f s; not rendered",
                entry_id,
                event.get("type"),
                event.get("session_key"),
                self.max_age,
            )
        elif await self._delivered_before(event):
            self.dropped_duplicate += 1
        else:
            await self.render(event)
            self.rendered += 1
            await self._mark_delivered(event)
        await self.redis.xack(keys.OUTBOX, GROUP, entry_id)

    async def _delivered_before(self, event: dict[str, Any]) -> bool:
        key = event.get("idempotency_key")
        return bool(key) and bool(await self.redis.exists(keys.delivered(str(key))))

    async def _mark_delivered(self, event: dict[str, Any]) -> None:
        """After rendering, not before: a crash in between renders twice (rare,
        visible) instead of never (silent)."""
        key = event.get("idempotency_key")
        if key:
            await self.redis.set(keys.delivered(str(key)), "1", ex=DELIVERED_TTL)
