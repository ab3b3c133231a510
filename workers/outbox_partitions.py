"""Which outbox partitions a gateway reads: any number of live gateways, each session's
events rendered by one of them, in order.

The outbox is :data:`~workers.keys.OUTBOX_PARTITIONS` streams; a session's events
all go to one (:func:`~workers.keys.outbox_stream`, by a hash of its key). A
gateway reads a partition only while it holds the partition's lease
(``facio:outbox:lease:{p}``, a key with a TTL): one reader per partition, so a
session's events are rendered once and in order however many gateways run —
two behind a load balancer for Slack's HTTP mode or Telegram's webhooks.

Every beat (a third of the TTL) a gateway renews the leases it holds (one
call: :class:`~workers.lease.LeaseKeeper`), says it is alive
(``facio:gateways``, a sorted set by last beat; silent for a TTL, it counts
as gone), and balances: with ``n`` gateways alive each aims at
``ceil(partitions / n)``; it takes partitions up to its share — and any that
nobody holds, so none goes unread — and gives back what is above it, after its
in-flight events of that partition are rendered, so the next owner starts
where it stopped. A gateway that dies holds its partitions until their
leases expire (:data:`LEASE_TTL`): within seconds another takes them and
first renders what the dead one had read but not acknowledged
(:meth:`~workers.outbox_reader.OutboxReader.take_over`), then the rest. The
same gateway started again (its name is its host, address and port, which no
live gateway shares) takes its own partitions back at once.
"""

from __future__ import annotations

import math
import random
import time
import uuid

from redis.asyncio import Redis

from workers import keys
from workers.flag import Flag
from workers.lease import LeaseKeeper, release

__all__ = ["LEASE_TTL", "Balance", "PartitionOwner"]

LEASE_TTL = 9.0
"""Seconds a dead gateway's partitions wait before another gateway takes them."""


# KEYS: lease   ARGV: token, ttl_ms, this gateway's name + ":"
# → 1 taken (it was free, or held by an earlier run of this same gateway: one that
#   died, since no two live gateways share a name), 0 another gateway holds it
TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[3]) ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


class Balance:
    """What one beat decided: partitions gained (read them, after taking over their
    pending entries), partitions to give back (once their events in flight are done),
    partitions lost (another gateway holds them now)."""

    def __init__(self, gained: list[int], extra: list[int], lost: list[int]) -> None:
        self.gained = gained
        self.extra = extra
        self.lost = lost


class PartitionOwner:
    """One gateway's partition leases (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        ttl: float = LEASE_TTL,
        partitions: int = keys.OUTBOX_PARTITIONS,
    ) -> None:
        self.redis = redis
        self.name = name
        self.ttl = ttl
        self.partitions = partitions
        self.token = f"{name}:{uuid.uuid4().hex[:8]}"
        """What this gateway writes into a lease it holds (unique per run)."""
        self.keeper = LeaseKeeper(redis, ttl)
        self.held: set[int] = set()
        self.releasing: set[int] = set()
        """Given back at the next chance (their in-flight events are being rendered)."""
        self._lost: dict[int, Flag] = {}

    @property
    def beat_every(self) -> float:
        return self.ttl / 3

    async def beat(self) -> Balance:
        """Renew, say this gateway is alive, take and give back partitions."""
        await self.keeper.renew_all()
        lost = [p for p in self.held if self._lost[p].is_set()]
        for p in lost:
            self.held.discard(p)
            self.releasing.discard(p)
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.GATEWAYS, {self.name: now})
            pipe.zremrangebyscore(keys.GATEWAYS, "-inf", now - self.ttl)
            pipe.zcard(keys.GATEWAYS)
            _, _, alive = await pipe.execute()
        share = math.ceil(self.partitions / max(int(alive), 1))
        # up to its share; and any partition nobody holds (a dead gateway's, once its
        # lease expired), so none goes unread: the balance evens out over the next beats
        gained = await self._take(share - len(self.held), free_only=False)
        gained += await self._take(self.partitions, free_only=True)
        keep = sorted(self.held - self.releasing)
        extra = keep[share:] if len(self.held) > share else []
        self.releasing.update(extra)
        return Balance(gained, extra, lost)

    async def _take(self, wanted: int, *, free_only: bool) -> list[int]:
        """Try partitions, from a random start (gateways spread out), up to ``wanted``;
        ``free_only``: only those no gateway holds (a cheap look first)."""
        if wanted <= 0:
            return []
        gained: list[int] = []
        offset = random.randrange(self.partitions)
        for i in range(self.partitions):
            p = (offset + i) % self.partitions
            if p in self.held:
                continue
            key = keys.outbox_lease(p)
            if free_only and await self.redis.exists(key):
                continue
            taken = await self.redis.register_script(TAKE)(
                keys=[key], args=[self.token, str(int(self.ttl * 1000)), f"{self.name}:"]
            )
            if int(taken) == 1:
                self._lost[p] = self.keeper.hold(key, self.token)
                self.held.add(p)
                gained.append(p)
                if len(gained) >= wanted:
                    break
        return gained

    async def give_back(self, partition: int) -> None:
        """Release a partition whose in-flight events are done (another may take it)."""
        key = keys.outbox_lease(partition)
        self.keeper.release(key)
        self.held.discard(partition)
        self.releasing.discard(partition)
        await release(self.redis, key, self.token)

    async def stop(self) -> None:
        """Release every partition and leave the list of live gateways."""
        for p in list(self.held):
            await self.give_back(p)
        await self.redis.zrem(keys.GATEWAYS, self.name)
