"""The Channel protocol: what a chat platform adapter is to the gateway.

A channel (Telegram, Slack, Discord) lives in the gateway process (DESIGN.md
rule 7). It turns platform updates into :class:`core.inbound.Inbound` and
queues them with :func:`workers.inbox.submit`; it decides approval clicks
through :func:`workers.decisions.decide`; and it renders the outbox events
of its sessions (``event.channel == channel.name``), which the gateway's
:class:`channels.outbox_consumer.OutboxConsumer` hands it in order, per
session.

    class MyChannel:
        name = "telegram"
        def routes(self, app: web.Application) -> None: ...   # webhooks, before start
        async def start(self) -> None: ...                    # connect, start polling
        async def stop(self) -> None: ...
        async def render(self, event: OutboxEvent) -> None: ...
        async def health(self) -> str: ...                    # "ok" or the problem

Channels are built by :func:`channels.registry.build_channels` from the
config with a :class:`GatewayContext`: everything they share with the rest
of the gateway, injected (STYLE.md, "a seam per outside world").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from channels.api.metrics import Metrics
from core.config import FacioConfig
from workers.approvals import ApprovalStore
from workers.inbox import JobQueue
from workers.outbox import Outbox

__all__ = ["Channel", "GatewayContext", "OutboxEvent"]


class OutboxEvent(BaseModel):
    """One wire event from the outbox (DESIGN.md "Events"), as a channel renders it.

    The envelope fields every event has are typed; the event's own fields
    (``content``, ``text``, ``approval_id``, ``tool_args``, …) stay in the
    model's extra and are read with :meth:`get`.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str
    session_key: str
    turn_id: str = ""
    agent_id: str = "main"
    channel: str = ""
    """The channel of the turn's inbound message: who renders this event."""
    bot: str = "main"
    reply_to: dict[str, str] = Field(default_factory=dict)
    """Where the answer goes, as the channel put it on the inbound message."""
    user_id: str = ""
    """The person whose message started the turn."""
    ts: float = 0.0
    idempotency_key: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """An event-specific field (``content``, ``approval_id``, …)."""
        extra = self.model_extra or {}
        return extra.get(name, default)


@dataclass(frozen=True)
class GatewayContext:
    """What the gateway shares with its channels."""

    config: FacioConfig
    redis: Redis
    """The gateway's pool (bytes replies, arq's)."""
    queue: JobQueue
    metrics: Metrics
    approvals: ApprovalStore
    outbox: Outbox


class Channel(Protocol):
    """A platform adapter hosted by the gateway."""

    name: str
    """The ``channel`` of its Inbound messages and session keys (``telegram``)."""

    def routes(self, app: web.Application) -> None:
        """Add HTTP routes (webhooks) to the gateway's application; called before start."""

    async def start(self) -> None:
        """Connect to the platform and start receiving."""

    async def stop(self) -> None:
        """Stop receiving and close connections; must not raise on a half-started channel."""

    async def render(self, event: OutboxEvent) -> None:
        """Show one event of one of this channel's sessions on the platform.

        Events of one session arrive one at a time, in order. Raising is
        logged and counted by the consumer; the event is not retried (a
        channel retries what is worth retrying itself, e.g. flood waits).
        """

    async def health(self) -> str:
        """``"ok"``, or a short description of what is wrong."""
