"""The polling lease: among gateways sharing a Redis, one polls a bot token at a time.

Telegram allows one ``getUpdates`` at a time per token. The gateway holding
``facio:telegram:poller:{bot_id}`` (a key with a TTL, renewed every third of
it) polls; the others stand by and take over within the TTL once it stops.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.telegram import keys

__all__ = ["LEASE_TTL", "PollingLease"]

logger = logging.getLogger(__name__)

LEASE_TTL = 30.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PollingLease:
    """One gateway's claim on a bot token's polling."""

    def __init__(self, redis: Redis, bot_id: int, ttl: float = LEASE_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self.key = keys.poller(bot_id)
        self.owner = uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, report: Callable[[str], None]) -> None:
        """Wait until the lease is ours; ``report`` hears how standing by goes."""
        ttl = int(self.ttl * 1000)
        while True:
            try:
                if await self.redis.set(self.key, self.owner, nx=True, px=ttl):
                    return
                report("ok")  # standing by is healthy: another gateway polls
            except RedisError as exc:
                report(f"Redis unavailable: {type(exc).__name__}")
            await asyncio.sleep(self.ttl / 6)

    async def keep(self) -> None:
        """Renew the lease; return when it is lost."""
        ttl = str(int(self.ttl * 1000))
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                if not await self._renew(keys=[self.key], args=[self.owner, ttl]):
                    return
            except RedisError:
                logger.warning("telegram: cannot renew the polling lease", exc_info=True)

    async def release(self) -> None:
        """Give the lease up (if it is still ours); a Redis error is logged, the TTL ends it."""
        try:
            await self._release(keys=[self.key], args=[self.owner])
        except RedisError as exc:
            logger.info("telegram: could not release the polling lease: %s", exc)
