"""Single-holder leases in Redis: a key holding its owner's token, with a TTL.

Two kinds of holder use them, through the same scripts:

- a worker draining sessions (``facio:lease:{sk}``, :mod:`workers.drain`): taken
  by the ACQUIRE script of :mod:`workers.scripts` together with its job check,
  and kept by the worker's one :class:`LeaseKeeper`, which renews every lease
  the process holds together, a script call per :data:`RENEW_BATCH` per beat —
  a thousand waiting turns cost two Redis calls every few seconds, not a
  thousand;
- a gateway holding a platform connection only one may hold per bot token
  (Telegram's long polling, Slack's Socket Mode, Discord's gateway websocket):
  :class:`Lease` — the holder renews every third of the TTL, the others stand
  by and take over within the TTL once it stops.

Renewing and releasing are compare-and-set on the owner token, so a holder
that was paused past its TTL (and replaced) can neither extend nor delete
the new holder's lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from workers.flag import Flag

__all__ = [
    "RELEASE",
    "RENEW",
    "RENEW_BATCH",
    "RENEW_MANY",
    "Lease",
    "LeaseKeeper",
    "release",
    "renew",
]

logger = logging.getLogger(__name__)

RENEW_BATCH = 500
"""Leases a keeper renews per script call. Redis runs a script alone: 10,000 leases
in one call held it ~65 ms every beat, every other client waiting (a new message's
start among them: docs/benchmarks.md, "Runtime cost"); 500 hold it ~3 ms."""

# KEYS: lease   ARGV: owner, ttl_ms   → 1 renewed, 0 not ours (any more)
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: leases, then the zset to stamp (only when ARGV[2] is not '')
# ARGV: ttl_ms, now ('' for no stamping), the leases' key prefix, owner of each lease
# → the (1-based) indexes no longer ours
# Stamping: each lease still ours has its member (the key without the prefix) in the
# zset set to now, if it is there (XX) — the sessions' leases stamp facio:active, so
# the reaper only ever looks at sessions nobody renews.
RENEW_MANY = """
local n = #ARGV - 3
local stamp = ARGV[2] ~= ''
local cut = #ARGV[3] + 1
local lost = {}
for i = 1, n do
  local key = KEYS[i]
  if redis.call('GET', key) == ARGV[i + 3] then
    redis.call('PEXPIRE', key, ARGV[1])
    if stamp then redis.call('ZADD', KEYS[n + 1], 'XX', ARGV[2], string.sub(key, cut)) end
  else
    lost[#lost + 1] = i
  end
end
return lost
"""

# KEYS: lease   ARGV: owner   → 1 released, 0 not ours
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def renew(redis: Redis, key: str, owner: str, ttl: float) -> bool:
    """Extend ``key`` by ``ttl`` seconds if ``owner`` still holds it."""
    reply = await redis.register_script(RENEW)(keys=[key], args=[owner, str(int(ttl * 1000))])
    return int(reply) == 1


async def release(redis: Redis, key: str, owner: str) -> bool:
    """Delete ``key`` if ``owner`` still holds it."""
    return int(await redis.register_script(RELEASE)(keys=[key], args=[owner])) == 1


class Lease:
    """One process's claim on ``key`` among processes sharing a Redis."""

    def __init__(self, redis: Redis, key: str, ttl: float, *, name: str = "") -> None:
        self.redis = redis
        self.key = key
        self.ttl = ttl
        self.name = name or key
        """How log lines call it (``telegram polling``)."""
        self.owner = uuid.uuid4().hex

    async def acquire(self, report: Callable[[str], None]) -> None:
        """Wait until the lease is ours; ``report`` hears how standing by goes
        (``"ok"``: another process holds it, which is healthy)."""
        while True:
            try:
                if await self.redis.set(self.key, self.owner, nx=True, px=int(self.ttl * 1000)):
                    return
                report("ok")
            except RedisError as exc:
                report(f"Redis unavailable: {type(exc).__name__}")
            await asyncio.sleep(self.ttl / 6)

    async def keep(self) -> None:
        """Renew every third of the TTL; return when the lease is lost.

        A renewal that fails on Redis is logged and tried again at the next
        beat: the lease is lost only when another owner holds the key.
        """
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await renew(self.redis, self.key, self.owner, self.ttl):
                    return
            except RedisError:
                logger.warning("cannot renew the %s lease", self.name, exc_info=True)

    async def release(self) -> None:
        """Give the lease up (if it is still ours); a Redis error is logged, the TTL ends it."""
        try:
            await release(self.redis, self.key, self.owner)
        except RedisError as exc:
            logger.info("could not release the %s lease: %s", self.name, exc)


@dataclass
class _Held:
    owner: str
    lost: Flag = field(default_factory=Flag)


class LeaseKeeper:
    """Every lease one process holds, renewed together: a script call per
    :data:`RENEW_BATCH` leases per beat.

    :meth:`hold` registers a lease the caller just took and returns an event
    set when it is lost — another owner holds the key (a pause past the TTL let
    a reaper hand the session on), or renewals failed for two thirds of the TTL
    in a row (Redis unreachable), so the holder stops while the lease still has
    a third to run, before anyone else can take it over.
    """

    def __init__(
        self,
        redis: Redis,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        stamps: tuple[str, str] | None = None,
    ):
        """``stamps``: ``(zset, prefix)`` — each beat also sets, in ``zset``, the member
        of every lease still held (its key without ``prefix``) to the time, if it is
        there: the worker's session leases keep ``facio:active`` fresh, so the reaper
        only looks at sessions nobody renews."""
        self.redis = redis
        self.ttl = ttl
        self.clock = clock
        self.stamps = stamps
        self._held: dict[str, _Held] = {}
        self._renewed = clock()

    def hold(self, key: str, owner: str) -> Flag:
        """Keep ``key`` (just taken by ``owner``) until :meth:`release`; its lost flag
        (made here: call it inside the event loop)."""
        held = self._held[key] = _Held(owner)
        return held.lost

    def release(self, key: str) -> None:
        """Stop renewing ``key`` (the holder deletes or hands it back itself)."""
        self._held.pop(key, None)

    def __len__(self) -> int:
        return len(self._held)

    async def renew_all(self) -> None:
        """One beat: renew every held lease, :data:`RENEW_BATCH` per call; mark lost the
        ones another owner holds."""
        held = [(key, self._held[key].owner) for key in self._held]
        if not held:
            self._renewed = self.clock()
            return
        try:
            for start in range(0, len(held), RENEW_BATCH):
                await self._renew(held[start : start + RENEW_BATCH])
        except RedisError as exc:
            if self.clock() - self._renewed >= self.ttl * 2 / 3:
                logger.error("cannot renew leases for %.0f s (%s); giving them up", self.ttl, exc)
                for key, owner in held:
                    self._lose(key, owner)
            else:
                logger.warning("could not renew %d lease(s) (%s); trying again", len(held), exc)
            return
        self._renewed = self.clock()

    async def _renew(self, batch: list[tuple[str, str]]) -> None:
        zset, prefix = self.stamps or ("", "")
        keys = [key for key, _ in batch]
        lost = await self.redis.register_script(RENEW_MANY)(
            keys=[*keys, zset] if zset else keys,
            args=[
                str(int(self.ttl * 1000)),
                str(time.time()) if zset else "",
                prefix,
                *(owner for _, owner in batch),
            ],
        )
        for index in lost:
            self._lose(*batch[int(index) - 1])

    def _lose(self, key: str, owner: str) -> None:
        """Mark ``key`` lost, unless it was released and taken again since (another
        owner, which this renewal did not look at)."""
        held = self._held.get(key)
        if held is not None and held.owner == owner:
            del self._held[key]
            held.lost.set()

    async def run(self) -> None:
        """Renew every third of the TTL, until cancelled."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self.renew_all()
