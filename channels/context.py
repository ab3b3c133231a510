"""What the gateway shares with its channels and HTTP handlers: one :class:`GatewayContext`.

Built once per gateway (:class:`channels.gateway.Gateway`), handed to every
channel adapter when it is made, and stored on the aiohttp application under
:data:`CONTEXT` for the handlers (:func:`context`). It is the seam to
everything outside a channel: the config, the runtime (:class:`RuntimeClient`),
the metrics, the health probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from redis.asyncio import Redis

from channels.metrics import Metrics
from channels.runtime import RuntimeClient
from core.config import FacioConfig
from core.config.models_channels import ChannelConfig

__all__ = ["CONTEXT", "SSE_HEARTBEAT", "GatewayContext", "HealthCheck", "context"]

SSE_HEARTBEAT = 15.0
"""Seconds of silence before an SSE stream sends a ``: ping`` comment."""

HealthCheck = Callable[[], Awaitable[str]]
"""A channel's health probe: ``"ok"`` or a short description of the problem.

The gateway registers each channel's ``health`` under its name; ``/healthz``
runs them all with a timeout. An exception counts as a failure.
"""


@dataclass
class GatewayContext:
    """The gateway's shared parts, as channels and handlers see them."""

    config: FacioConfig
    runtime: RuntimeClient
    metrics: Metrics
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    heartbeat: float = SSE_HEARTBEAT
    """Seconds of silence before an SSE stream sends a ping."""
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set on shutdown: open SSE streams end cleanly instead of holding the server."""

    @property
    def redis(self) -> Redis:
        """The gateway's Redis pool (bytes replies), for a channel's own state."""
        return self.runtime.redis

    @property
    def bot(self) -> str:
        """The bot that answers API messages: ``main`` when configured, else the first."""
        return "main" if "main" in self.config.bots else next(iter(self.config.bots))

    def bot_of(self, session_key: str) -> str:
        """The bot that answers ``session_key``: its channel's, else the API's."""
        channel = getattr(self.config.channels, session_key.split(":", 1)[0], None)
        return channel.bot if isinstance(channel, ChannelConfig) else self.bot


CONTEXT = web.AppKey("facio_gateway", GatewayContext)


def context(request: web.Request) -> GatewayContext:
    """The context of the application (or parent application) serving ``request``."""
    return request.config_dict[CONTEXT]
