"""The gateway's outbox consumer: hands each outbox event to the channel that renders it.

Order where it matters, concurrency where it does not: events of one session
are rendered one at a time, in stream order (a streamed answer grows by
edits, an approval card follows the text before it); different sessions run
side by side, so a flood wait in one Telegram chat never delays another.
Each session gets a *lane* (:class:`channels.lanes.Lanes`).

At-least-once (docs/runtime.md "Outbox"): an entry is acknowledged after its
channel rendered it. A render that raises is logged, counted and
acknowledged — a poison event must not block its session forever; channels
retry what is worth retrying (flood control) themselves. A gateway that
dies mid-render leaves its entries pending. Started again under the same
consumer name, it renders them first, before anything new; and every
``CLAIM_EVERY`` seconds the consumer claims entries another consumer left
pending for longer than ``CLAIM_IDLE`` (a gateway that is gone for good), so
they are rendered after all — possibly after newer events of their session.

Events of channels without a renderer here (``api``: its clients read the
session's event stream over SSE; ``cli``, ``cron``) are acknowledged as is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from channels.base import Channel
from channels.lanes import Lanes, cancel_and_wait
from channels.metrics import Metrics
from channels.runtime import CLAIM_IDLE, MAX_AGE, Entry, OutboxReader, RuntimeClient
from core.wire import WireEvent

__all__ = ["CLAIM_EVERY", "MAX_IN_FLIGHT", "OutboxConsumer", "OutboxTimings"]

logger = logging.getLogger(__name__)

CLAIM_EVERY = 30.0
"""Seconds between looks for entries a dead gateway left pending."""
MAX_IN_FLIGHT = 1000
"""Entries read but not yet rendered, across sessions: the reader waits beyond it."""
LOCAL_CHANNELS = frozenset({"cli", "cron", ""})
"""Channels whose events nobody renders in the gateway (SSE clients read them)."""
RETRY_DELAY = 1.0


@dataclass(frozen=True)
class OutboxTimings:
    """When the consumer looks for a dead gateway's entries, and which it drops as stale.

    The defaults are production's; the crash tests shorten the claim timings
    through :class:`channels.gateway.Gateway` to see a restart within seconds.
    """

    claim_every: float = CLAIM_EVERY
    """Seconds between looks for entries another consumer left pending."""
    claim_idle: float = CLAIM_IDLE
    """Seconds an entry must have been pending before it is taken over: longer than
    any render takes, so a live gateway's entries are never taken from it."""
    max_age: float = MAX_AGE
    """Seconds after which an entry is acknowledged without being rendered."""


class OutboxConsumer:
    """A gateway service: reads the outbox and renders it through the channels."""

    name = "outbox"

    def __init__(
        self,
        runtime: RuntimeClient,
        channels: Mapping[str, Channel],
        metrics: Metrics,
        consumer: str,
        *,
        block_ms: int = 1000,
        claim_every: float = CLAIM_EVERY,
        claim_idle: float = CLAIM_IDLE,
        max_age: float = MAX_AGE,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.channels = dict(channels)
        self.metrics = metrics
        self.reader = runtime.outbox_reader(
            consumer, self._render, max_age=max_age, claim_idle=claim_idle
        )
        self.block_ms = block_ms
        self.claim_every = claim_every
        self.lanes: Lanes[str] = Lanes("outbox", max_queued=max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._unknown: set[str] = set()
        self.rendered = metrics.counter(
            "facio_outbox_rendered_total", "Outbox events rendered, by channel.", ("channel",)
        )
        self.failed = metrics.counter(
            "facio_outbox_render_errors_total",
            "Outbox events whose rendering raised (logged and acknowledged), by channel.",
            ("channel",),
        )

    async def start(self) -> None:
        await self.reader.ensure_group()
        self._task = asyncio.create_task(self._run(), name="outbox-consumer")

    async def stop(self) -> None:
        """Stop reading; events already read get a moment to finish, the rest stay pending."""
        await cancel_and_wait(self._task)
        self._task = None
        await self.lanes.close(grace=0)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event read so far was handled (tests, benchmarks)."""
        await self.lanes.idle(timeout)

    async def _run(self) -> None:
        next_claim = 0.0
        resumed = False
        while True:
            try:
                if not resumed:  # what this consumer read before a restart, first
                    await self._dispatch(await self.reader.own_pending())
                    resumed = True
                if time.monotonic() >= next_claim:
                    await self._dispatch(await self.reader.claimable())
                    next_claim = time.monotonic() + self.claim_every
                await self._dispatch(await self.reader.fetch(self.block_ms))
            except RedisError as exc:
                # the loop boundary: Redis went away; keep trying, never exit
                # (one line per try: a traceback a second says nothing more)
                logger.warning("outbox: Redis unavailable (%s); retrying", exc)
                self.metrics.errors.inc()
                await asyncio.sleep(RETRY_DELAY)

    async def _dispatch(self, entries: list[Entry]) -> None:
        for entry_id, fields in entries:
            event = OutboxReader.decode(entry_id, fields)
            session_key = event.session_key if event is not None else ""
            await self.lanes.put(session_key, functools.partial(self._handle, entry_id, event))

    async def _handle(self, entry_id: str, event: WireEvent | None) -> None:
        session_key = event.session_key if event is not None else ""
        try:
            await self.reader.deliver(entry_id, event)
        except RedisError:
            # not acknowledged: it stays pending and is claimed again later
            logger.warning("outbox: Redis failed while handling %s", entry_id, exc_info=True)
            self.metrics.errors.inc()
        except Exception:  # the render boundary: channel code, log it and move on
            logger.exception("outbox: rendering %s for %s failed", entry_id, session_key)
            try:
                await self.reader.ack(entry_id)
            except RedisError as exc:  # left pending: rendered again after a claim
                logger.warning("outbox: could not acknowledge %s: %s", entry_id, exc)

    async def _render(self, event: WireEvent) -> None:
        channel = self.channels.get(event.channel)
        if channel is None:
            if event.channel not in LOCAL_CHANNELS and event.channel not in self._unknown:
                self._unknown.add(event.channel)
                logger.warning(
                    "outbox: no channel %r in this gateway; its events are dropped", event.channel
                )
            return
        try:
            await channel.render(event)
        except Exception:
            self.failed.inc(channel=event.channel)
            raise
        self.rendered.inc(channel=event.channel)
