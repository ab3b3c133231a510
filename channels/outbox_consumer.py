"""The gateway's outbox consumer: hands each outbox event to the channel that renders it.

Order where it matters, concurrency where it does not: events of one session
are rendered one at a time, in stream order (a streamed answer grows by
edits, an approval card follows the text before it); different sessions run
side by side, so a flood wait in one Telegram chat never delays another.
Each session gets a *lane* (:class:`channels.lanes.Lanes`).

Any number of gateways may run: the outbox is partitioned by session and a
gateway reads only the partitions whose leases it holds, so each session's
events are rendered by one gateway, in order (workers.outbox_partitions). A
gateway that stops gives its partitions back; one that dies loses them when
their leases expire, and whoever takes one over first renders what it left
pending (docs/runtime.md "Outbox").

At-least-once: an entry is acknowledged after its channel rendered it. A
render that raises is logged, counted and acknowledged — a poison event must
not block its session forever; channels retry what is worth retrying (flood
control) themselves. Events of channels without a renderer in this gateway
are acknowledged as is (logged once per channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from channels.base import Channel
from channels.lanes import Lanes, cancel_and_wait
from channels.metrics import Metrics
from channels.runtime import (
    MAX_AGE,
    PARTITION_TTL,
    UNRENDERED,
    Entry,
    OutboxReader,
    RuntimeClient,
    partition_stream,
)
from core.wire import WireEvent

__all__ = ["MAX_IN_FLIGHT", "OutboxConsumer", "OutboxTimings"]

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 1000
"""Entries read but not yet rendered, across sessions: the reader waits beyond it."""
RETRY_DELAY = 1.0
STOP_GRACE = 5.0
"""Seconds a stopping gateway lets the renders it has begun finish."""


@dataclass(frozen=True)
class OutboxTimings:
    """How soon a dead gateway's partitions are taken over, and which entries are stale.

    The defaults are production's; the crash tests shorten the lease through
    :class:`channels.gateway.Gateway` to see a takeover within a second or two.
    """

    lease_ttl: float = PARTITION_TTL
    """Seconds a partition lease outlives a gateway that stopped renewing it."""
    max_age: float = MAX_AGE
    """Seconds after which an entry is acknowledged without being rendered."""


class OutboxConsumer:
    """A gateway service: reads its outbox partitions and renders them through the channels."""

    name = "outbox"

    def __init__(
        self,
        runtime: RuntimeClient,
        channels: Mapping[str, Channel],
        metrics: Metrics,
        consumer: str,
        *,
        block_ms: int = 1000,
        timings: OutboxTimings | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        timings = timings or OutboxTimings()
        self.channels = dict(channels)
        self.metrics = metrics
        self.reader = runtime.outbox_reader(
            consumer, self._render, max_age=timings.max_age, streams=()
        )
        self.owner = runtime.partitions(consumer, ttl=timings.lease_ttl)
        self.block_ms = block_ms
        self.lanes: Lanes[str] = Lanes("outbox", max_queued=max_in_flight)
        self._in_flight: Counter[str] = Counter()
        """Entries read and not yet handled, by stream (a partition given back waits)."""
        self._task: asyncio.Task[None] | None = None
        self._giving_back: set[asyncio.Task[None]] = set()
        self._draining: set[str] = set()
        """Streams given back once their in-flight entries are rendered."""
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
        self._task = asyncio.create_task(self._run(), name="outbox-consumer")

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop reading; let what was read finish rendering for up to ``grace`` seconds,
        then give the partitions back. A render cut short stays pending and the next
        owner renders it again: a post that had gone out would go out twice (Discord's
        nonce and Slack's read-back dedupe one process's retries, not another's), so a
        rolling restart waits for it; what is still cut at the end of the grace is
        rendered again."""
        await cancel_and_wait(self._task)
        self._task = None
        await self.lanes.close(grace=grace)
        for task in list(self._giving_back):
            task.cancel()
        with contextlib.suppress(RedisError):
            await self.owner.stop()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event read so far was handled (tests, benchmarks)."""
        await self.lanes.idle(timeout)

    @property
    def partitions(self) -> set[int]:
        """The partitions this gateway reads now."""
        return set(self.owner.held)

    async def _run(self) -> None:
        next_beat = 0.0
        while True:
            try:
                if time.monotonic() >= next_beat:
                    await self._balance()
                    next_beat = time.monotonic() + self.owner.beat_every
                if not self.reader.streams:
                    await asyncio.sleep(min(self.owner.beat_every, self.block_ms / 1000))
                    continue
                await self._dispatch(await self.reader.fetch(self.block_ms))
            except RedisError as exc:
                # the loop boundary: Redis went away; keep trying, never exit
                # (one line per try: a traceback a second says nothing more)
                logger.warning("outbox: Redis unavailable (%s); retrying", exc)
                self.metrics.errors.inc()
                await asyncio.sleep(RETRY_DELAY)

    async def _balance(self) -> None:
        """One beat of the partition leases: read what was gained (its pending entries
        first), stop reading what was lost or is above this gateway's share."""
        balance = await self.owner.beat()
        for p in balance.lost:
            logger.warning("outbox: partition %d was taken over by another gateway", p)
            self._stop_reading(p)
        for p in balance.extra:
            self._stop_reading(p)
            self._draining.add(partition_stream(p))
            task = asyncio.create_task(self._give_back(p), name=f"outbox-give-back-{p}")
            self._giving_back.add(task)
            task.add_done_callback(self._giving_back.discard)
        for p in balance.gained:
            stream = partition_stream(p)
            await self.reader.ensure_group(stream)
            self._draining.discard(stream)
            self.reader.streams.append(stream)  # before its pending entries are handled
            await self._dispatch(await self.reader.take_over(stream))

    def _stop_reading(self, partition: int) -> None:
        stream = partition_stream(partition)
        if stream in self.reader.streams:
            self.reader.streams.remove(stream)

    async def _give_back(self, partition: int) -> None:
        """Give a partition back once its entries in flight here are handled."""
        stream = partition_stream(partition)
        while self._in_flight[stream]:
            await asyncio.sleep(0.05)
        self._draining.discard(stream)
        try:
            await self.owner.give_back(partition)
        except RedisError as exc:  # its lease expires by itself
            logger.warning("outbox: could not give partition %d back: %s", partition, exc)

    async def _dispatch(self, entries: list[Entry]) -> None:
        for entry in entries:
            event = OutboxReader.decode(entry)
            session_key = event.session_key if event is not None else ""
            self._in_flight[entry.stream] += 1
            await self.lanes.put(session_key, functools.partial(self._handle, entry, event))

    async def _handle(self, entry: Entry, event: WireEvent | None) -> None:
        session_key = event.session_key if event is not None else ""
        try:
            if entry.stream not in self.reader.streams and entry.stream not in self._draining:
                return  # its partition was lost meanwhile: the new owner renders it
            await self.reader.deliver(entry, event)
        except RedisError:
            # not acknowledged: it stays pending and is taken over later
            logger.warning("outbox: Redis failed while handling %s", entry.id, exc_info=True)
            self.metrics.errors.inc()
        except Exception:  # the render boundary: channel code, log it and move on
            logger.exception("outbox: rendering %s for %s failed", entry.id, session_key)
            try:
                await self.reader.ack(entry)
            except RedisError as exc:  # left pending: rendered again after a takeover
                logger.warning("outbox: could not acknowledge %s: %s", entry.id, exc)
        finally:
            self._in_flight[entry.stream] -= 1

    async def _render(self, event: WireEvent) -> None:
        channel = self.channels.get(event.channel)
        if channel is None:
            if event.channel not in UNRENDERED and event.channel not in self._unknown:
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
