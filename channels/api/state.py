"""What the handlers share: one :class:`ApiState` per application, under :data:`STATE`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from redis.asyncio import Redis

from channels.api.metrics import Metrics
from core.config import FacioConfig
from workers.approvals import ApprovalStore
from workers.inbox import JobQueue
from workers.outbox import Outbox
from workers.stores import RedisSessionStore

__all__ = ["SSE_HEARTBEAT", "STATE", "ApiState", "HealthCheck", "state"]

SSE_HEARTBEAT = 15.0
"""Seconds of silence before an SSE stream sends a ``: ping`` comment."""

HealthCheck = Callable[[], Awaitable[str]]
"""A channel's health probe: ``"ok"`` or a short description of the problem.

Channel adapters register one each (``ApiState.health_checks[name] = probe``);
``/healthz`` runs them all with a timeout. An exception counts as a failure.
"""


@dataclass
class ApiState:
    """The gateway's shared parts, as the HTTP handlers see them."""

    config: FacioConfig
    redis: Redis
    queue: JobQueue
    metrics: Metrics
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    heartbeat: float = SSE_HEARTBEAT
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on shutdown: open SSE streams end cleanly instead of holding the server."""

    def __post_init__(self) -> None:
        self.sessions = RedisSessionStore(self.redis)
        self.approvals = ApprovalStore(self.redis)
        self.outbox = Outbox(self.redis)

    @property
    def bot(self) -> str:
        """The bot that answers API messages: ``main`` when configured, else the first."""
        return "main" if "main" in self.config.bots else next(iter(self.config.bots))


STATE = web.AppKey("facio_api_state", ApiState)


def state(request: web.Request) -> ApiState:
    """The state of the application (or parent application) serving ``request``."""
    return request.config_dict[STATE]
