"""The Channel protocol: what a chat platform adapter is to the gateway.

A channel (Telegram, Slack, Discord, the HTTP API) lives in the gateway
process (docs/design.md rule 7). It turns platform updates into
:class:`core.inbound.Inbound` and queues them, decides approval clicks, and
renders the outbox events of its sessions (``event.channel ==
channel.name``), which the gateway's
:class:`channels.outbox_consumer.OutboxConsumer` hands it in order, per
session. Everything it asks of the runtime goes through the one
:class:`channels.runtime.RuntimeClient` of its :class:`GatewayContext`.

    class MyChannel:
        name = "telegram"
        def routes(self, app: web.Application) -> None: ...   # webhooks, before start
        async def start(self) -> None: ...                    # connect, start polling
        async def stop(self) -> None: ...
        async def render(self, event: WireEvent) -> None: ...
        async def health(self) -> str: ...                    # "ok" or the problem

Channels are built by :func:`channels.registry.build_channels` from the
config with a :class:`~channels.context.GatewayContext`: everything they share with the rest
of the gateway, injected (STYLE.md, "a seam per outside world").
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from core.wire import WireEvent

__all__ = ["Channel"]


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

    async def render(self, event: WireEvent) -> None:
        """Show one event of one of this channel's sessions on the platform.

        Events of one session arrive one at a time, in order. Raising is
        logged and counted by the consumer; the event is not retried (a
        channel retries what is worth retrying itself, e.g. flood waits).
        """

    async def health(self) -> str:
        """``"ok"``, or a short description of what is wrong."""
