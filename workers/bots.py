"""The bots a worker runs, each a Facio on the shared Redis stores."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from core.config import FacioConfig
from core.errors import ConfigError
from core.sdk import Facio
from workers.stores import RedisPermissionStore, RedisSessionStore


class Bots:
    """Builds each configured bot once, on first use."""

    def __init__(self, config: FacioConfig, redis: Redis, client: httpx.AsyncClient) -> None:
        self.config = config
        self.redis = redis
        self.client = client
        self._bots: dict[str, Facio] = {}

    def get(self, name: str) -> Facio:
        if name not in self.config.bots:
            raise ConfigError(f"no bot named {name!r}", path="bots")
        if name not in self._bots:
            self._bots[name] = Facio(
                self.config,
                bot=name,
                client=self.client,
                sessions=RedisSessionStore(self.redis),
                permission_store=RedisPermissionStore(self.redis, name),
            )
        return self._bots[name]

    async def aclose(self) -> None:
        for facio in self._bots.values():
            await facio.aclose()
