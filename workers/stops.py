"""``/stop`` reaching the turns a worker runs, without polling per turn.

A stop request (:func:`workers.inbox.request_stop`) is a key holding the
request's time, ``facio:stop:{sk}`` (a minute), plus a message on the pub/sub
channel ``facio:stop`` naming the session. Each worker listens on that channel
(the same subscription as its wake-up doorbell) and checks the key of a
session it runs when its name comes by. Messages can be missed while the
subscription reconnects, so the worker also sweeps: after each
(re)subscription and every :data:`SWEEP` seconds, one ``MGET`` of the keys of
all the sessions it runs. A thousand running turns cost one call per sweep,
not five thousand a second.

The stop key of a session's next turn is read by the script that hands the
turn to the worker (ACQUIRE, NEXT: :mod:`workers.scripts`), so starting a turn
costs no call of its own: :meth:`StopWatcher.seen` judges that value and
looks again only if a stop was announced since it was read.

Only a stop requested after the turn was queued ends it (the key holds the
request's time), never a message sent after the stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers import keys
from workers.codec import text
from workers.flag import Flag

__all__ = ["SWEEP", "StopRead", "StopWatcher"]

logger = logging.getLogger(__name__)

SWEEP = 5.0
"""Seconds between sweeps of the stop keys of every running session (missed messages)."""
SWEEP_BATCH = 1000
"""Stop keys per MGET of a sweep: 10,000 in one held Redis ~7 ms."""
ANNOUNCED = 60.0
"""Seconds a stop announcement is remembered for a session not (yet) running here."""


@dataclass(frozen=True)
class StopRead:
    """A session's stop key as a script read it along with the turn it handed over."""

    value: bytes | str | None
    """The key's value (the request's time), None when there was none."""
    read_at: float
    """``time.monotonic()`` before the script ran."""


@dataclass
class _Watched:
    enqueued_at: float
    stopped: Flag = field(default_factory=Flag)


class StopWatcher:
    """The sessions running in this worker and their stop requests."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._watched: dict[str, _Watched] = {}
        self._announced: dict[str, float] = {}
        """Session → when its last stop was announced (``time.monotonic()``)."""

    def watch(self, session_key: str, enqueued_at: float) -> Flag:
        """Track the turn running in ``session_key`` (queued at ``enqueued_at``); the flag
        is set when a stop for it arrives."""
        watched = self._watched[session_key] = _Watched(enqueued_at)
        return watched.stopped

    def unwatch(self, session_key: str) -> None:
        self._watched.pop(session_key, None)

    def __len__(self) -> int:
        return len(self._watched)

    async def check(self, *session_keys: str) -> None:
        """Look at the stop keys of these sessions (all running ones when none given)."""
        names = list(session_keys) or list(self._watched)
        names = [n for n in names if n in self._watched]
        if not names:
            return
        for start in range(0, len(names), SWEEP_BATCH):  # Redis serves others in between
            batch = names[start : start + SWEEP_BATCH]
            values = await self.redis.mget([keys.stop(n) for n in batch])
            for name, value in zip(batch, values, strict=True):
                await self._judge(name, self._watched.get(name), value)

    async def _judge(self, name: str, watched: _Watched | None, value: bytes | str | None) -> None:
        """Stop the watched turn if ``value`` (its stop key's) asks it to."""
        if value is None or watched is None or watched.stopped.is_set():
            return
        try:
            requested = float(text(value))
        except ValueError:
            requested = 0.0
        if requested >= watched.enqueued_at:
            await self.redis.delete(keys.stop(name))
            watched.stopped.set()

    async def seen(self, session_key: str, value: bytes | str | None, read_at: float) -> None:
        """The stop key of the turn just watched in ``session_key`` held ``value`` at
        ``read_at`` (``time.monotonic()``); a stop announced since then is looked up."""
        if self._announced.get(session_key, -1.0) >= read_at:
            await self.look(session_key)
            return
        try:
            await self._judge(session_key, self._watched.get(session_key), value)
        except RedisError as exc:  # the stop key stays: the next sweep acts on it
            logger.warning("could not act on a stop for %s: %s", session_key, exc)

    def _announce(self, session_key: str) -> None:
        now = time.monotonic()
        if len(self._announced) > 1000:
            self._announced = {
                name: at for name, at in self._announced.items() if now - at < ANNOUNCED
            }
        self._announced[session_key] = now

    async def notified(self, session_key: str) -> None:
        """A stop was announced for ``session_key`` (pub/sub): check it if it runs here."""
        self._announce(session_key)
        await self.look(session_key)

    async def look(self, session_key: str) -> None:
        """Check the stop key of ``session_key`` if it runs here (a failure is logged:
        the next sweep looks again)."""
        if session_key in self._watched:
            try:
                await self.check(session_key)
            except RedisError as exc:  # the next sweep looks again
                logger.warning("could not check a stop for %s: %s", session_key, exc)

    async def sweep(self) -> None:
        """Check every running session's stop key once (a failure is logged: the next
        sweep looks again)."""
        try:
            await self.check()
        except RedisError as exc:
            logger.warning("could not sweep for stops (%s); trying again", exc)

    async def sweep_forever(self, every: float = SWEEP) -> None:
        """:meth:`sweep` every ``every`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(every)
            await self.sweep()
