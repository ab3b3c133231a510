"""The bots a worker runs, each a Facio on the shared Redis stores."""

from __future__ import annotations

from dataclasses import replace

import httpx
from redis.asyncio import Redis

from bots.sdk import Facio
from bots.toolbox import check_bots
from core.config import FacioConfig
from core.errors import ConfigError
from workers.schedules.clock import Clock
from workers.schedules.store import ScheduleStore
from workers.schedules.tools import schedule_tools
from workers.stores import RedisPermissionStore, RedisSessionStore

APPROVAL_BACKSTOP = 5.0
"""Seconds the agent's own approval timer runs past the record's expiry."""


class Bots:
    """Builds each configured bot once, on first use.

    Each gets the runtime's own tools (the schedule tools, on this Redis and
    ``clock``), which the SDK cannot offer. Every bot's tools are checked when
    the worker starts (the user's imported): a wrong entry stops the worker
    with a ConfigError instead of failing the first turn.
    """

    def __init__(
        self,
        config: FacioConfig,
        redis: Redis,
        client: httpx.AsyncClient,
        *,
        clock: Clock | None = None,
    ) -> None:
        check_bots(config)
        self.config = config
        self.redis = redis
        self.client = client
        self.sessions = RedisSessionStore(redis)
        """One history store (and its cache) for every bot of the worker."""
        self.runtime_tools = schedule_tools(ScheduleStore(redis, config, clock=clock))
        self._bots: dict[str, Facio] = {}

    def get(self, name: str) -> Facio:
        if name not in self.config.bots:
            raise ConfigError(f"no bot named {name!r}", path="bots")
        if name not in self._bots:
            facio = Facio(
                self.config,
                bot=name,
                client=self.client,
                sessions=self.sessions,
                permission_store=RedisPermissionStore(self.redis, name),
                runtime_tools=self.runtime_tools,
            )
            # The approval record is the authority on expiry: the turn runner
            # expires it at approvalTimeout and then tells the agent. The agent's
            # own timer stays only as a backstop, so it must not fire first.
            facio.settings = replace(
                facio.settings,
                approval_timeout=facio.settings.approval_timeout + APPROVAL_BACKSTOP,
            )
            self._bots[name] = facio
        return self._bots[name]

    async def aclose(self) -> None:
        for facio in self._bots.values():
            await facio.aclose()
