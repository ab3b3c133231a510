"""Socket Mode: one websocket per app among the gateways, envelopes in order, acked.

Slack sends every event and click as an envelope on a websocket the app
opens with ``apps.connections.open`` (the ``xapp-`` token) and expects its
``envelope_id`` back within 3 seconds. bolt's ``AsyncSocketModeHandler``
(slack_sdk's aiohttp client underneath: pings, reconnects on ``disconnect``
or a stale connection) runs each envelope through the app and sends the ack.

Gateways sharing a Redis hold one connection per app: only the holder of
the lease ``facio:slack:socket:<bot id>`` connects; the others stand by and
take over within 30 s when it stops (a second connection would split the
events between gateways, which is harmless, but two gateways acknowledging
is pointless and makes the logs lie about who handles what).

Order: slack_sdk runs every envelope in a task of its own, so two messages
of one chat could overtake each other. :class:`OrderedHandler` takes a lock
for events *before* its first await — the tasks start in arrival order, so
they take the lock in arrival order (asyncio's lock is fair); clicks do not
wait behind messages.

The app token is checked before connecting (``apps.connections.open``
through the channel's own call, so a refused token shows in ``/healthz``
instead of slack_sdk retrying it every few seconds in the log).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from channels.runtime import Lease
from channels.slack.errors import SlackChannelError, SlackUnreachable, TokenRefused, WrongTokenType
from channels.slack.web import SlackApi
from core.backoff import Backoff

__all__ = ["LEASE_TTL", "PING_INTERVAL", "OrderedHandler", "SocketReceiver"]

logger = logging.getLogger(__name__)

LEASE_TTL = 30.0
"""Seconds the Socket Mode lease outlives a gateway that stopped renewing it."""
PING_INTERVAL = 10.0
MAX_RETRY = 60.0


class OrderedHandler(AsyncSocketModeHandler):
    """bolt's handler, with Events API envelopes handled one at a time, in arrival order."""

    def __init__(self, app: AsyncApp, app_token: str, *, ping_interval: float) -> None:
        super().__init__(app, app_token, ping_interval=ping_interval)
        self._order = asyncio.Lock()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.time()
        if req.type == "events_api":
            async with self._order:
                response = await run_async_bolt_app(self.app, req)
        else:
            response = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, response, start)


class SocketReceiver:
    """Holds the app's Socket Mode connection while it holds the lease."""

    def __init__(
        self,
        app: AsyncApp,
        app_token: str,
        api: SlackApi,
        lease: Lease,
        *,
        ping_interval: float = PING_INTERVAL,
        retry_delay: float = 1.0,
        replay: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``api`` calls with the app token (``apps.connections.open``); ``replay`` runs
        each time the lease is won, before connecting (updates a stop cut short)."""
        self.app = app
        self.app_token = app_token
        self.api = api
        self.lease = lease
        self.ping_interval = ping_interval
        self.retry_delay = retry_delay
        self.replay = replay
        self.status = "starting"
        self.standing_by = False
        """Another gateway holds the connection; this one takes over when it stops."""
        self.handler: OrderedHandler | None = None

    def _report(self, status: str) -> None:
        """How standing by goes: ``ok`` (another gateway holds the connection: healthy)."""
        if status == "ok" and not self.standing_by:
            logger.info("slack: another gateway holds the Socket Mode connection; standing by")
        self.standing_by = status == "ok"
        self.status = status

    async def run(self) -> None:
        """Stand by until the lease is ours, then stay connected until it is lost or stopped."""
        try:
            while True:
                await self.lease.acquire(self._report)
                try:
                    if not await self._connected():
                        return  # the app token was refused: status and log say why
                    await self.lease.keep()
                finally:
                    await self._disconnect()
                logger.warning("slack: lost the Socket Mode lease; standing by")
                await self.lease.release()
        finally:
            await self.lease.release()

    async def _connected(self) -> bool:
        """Check the app token, replay, connect; False when the token is refused."""
        backoff = Backoff(self.retry_delay, MAX_RETRY)
        while True:
            try:
                url = await self.api.open_connection(self.app_token)
                break
            except (TokenRefused, WrongTokenType) as exc:
                self.status = (
                    f"the Slack app token was refused ({exc}); check channels.slack.appToken"
                )
                logger.error("slack: %s", self.status)
                return False
            except SlackChannelError as exc:
                delay = backoff.next()
                self.status = (
                    f"cannot reach Slack ({exc})" if isinstance(exc, SlackUnreachable) else str(exc)
                )
                logger.warning(
                    "slack: apps.connections.open failed (%s); retrying in %.0f s", exc, delay
                )
                await asyncio.sleep(delay)
        if self.replay is not None:
            await self.replay()
        handler = OrderedHandler(self.app, self.app_token, ping_interval=self.ping_interval)
        handler.client.wss_uri = url
        self.handler = handler
        self.standing_by = False
        await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt leaves it untyped
        self.status = "ok"
        logger.info("slack: connected over Socket Mode")
        return True

    async def _disconnect(self) -> None:
        handler, self.handler = self.handler, None
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]

    async def health(self) -> str:
        handler = self.handler
        if handler is not None and self.status == "ok" and not await handler.client.is_connected():
            return "reconnecting to Slack's Socket Mode"
        return self.status
