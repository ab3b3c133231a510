"""The gateway websocket, one per bot token among facio's gateways, held under a lease.

Discord lets one token open several gateway sessions, and each gets every
event: two gateways connected with one token would both answer every message
and both try to answer every click (the second answer is refused, 40060).
So only the gateway holding the token's lease
(``facio:discord:gateway:<bot id>``, a :class:`~channels.runtime.Lease`)
connects; the others stand by — logged in over REST, so they still render
outbox events — and the first to see the lease free takes over (within its
TTL when the holder died without releasing it).

While connected, discord.py does what Discord asks: heartbeats, RESUME after
a dropped socket (on ``resume_gateway_url``), a new IDENTIFY after an
invalid session, RECONNECT. What ends ``Client.connect`` is handled here:

- fatal — a refused token (4004), ``PrivilegedIntentsRequired`` (4014: the
  Message Content intent is not enabled), another close code discord.py
  gives up on: logged with what to do, shown in health, not retried;
- anything else — a frame discord.py cannot read (not JSON, a READY without
  its session) — is logged, the socket closed, and the connection made again
  after a backoff: the channel never stops because of what Discord sent.

Losing the lease (another gateway holds it) closes the socket with 1000,
which ends the session at Discord (its rule), and the gateway stands by.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from channels.discord.client import FacioClient
from channels.discord.errors import (
    CALL_FAILURES,
    DiscordUnreachable,
    map_error,
)
from channels.runtime import Lease
from core.backoff import Backoff

__all__ = ["LEASE_TTL", "Connection"]

logger = logging.getLogger(__name__)

LEASE_TTL = 30.0
"""Seconds the gateway lease outlives a gateway that stopped renewing it."""
MAX_RETRY = 60.0
HEALTHY = 60.0
"""Seconds a connection must have lasted for its failure to count as a first one."""


class Connection:
    """Keeps the client's gateway connection while the lease is ours (module docstring)."""

    def __init__(
        self,
        client: FacioClient,
        lease: Lease,
        *,
        token: str,
        report: Callable[[str], None],
        retry_delay: float = 1.0,
        replay: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``replay`` runs each time the lease is won, before connecting: the messages a
        previous holder took but did not finish (kept in Redis) are handled first."""
        self.client = client
        self.replay = replay
        self.lease = lease
        self.token = token
        self.report = report
        """Hears the status: ``standing by``, ``connecting``, a fatal problem."""
        self.retry_delay = retry_delay

    async def run(self) -> None:
        """Stand by, connect while the lease is ours; return only after a fatal error."""
        try:
            while True:
                await self.lease.acquire(lambda _: self.report("standing by"))
                self.report("connecting")
                keeper = asyncio.create_task(self.lease.keep(), name="discord-lease")
                socket = asyncio.create_task(self._connect(), name="discord-gateway")
                try:
                    done, _ = await asyncio.wait(
                        {keeper, socket}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:  # also when run() is cancelled: no socket may outlive it
                    for task in (keeper, socket):
                        task.cancel()
                    await asyncio.gather(keeper, socket, return_exceptions=True)
                    await self._disconnect(code=1000)
                if socket in done:
                    return  # stopped for good; the status and the log say why
                logger.warning("discord: lost the gateway lease; standing by")
                await self.lease.release()  # a no-op unless the keeper itself failed
        finally:
            await self.lease.release()

    async def _connect(self) -> None:
        if self.replay is not None:
            await self.replay()
        backoff = Backoff(self.retry_delay, cap=MAX_RETRY)
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.client.connect(reconnect=True)
            except CALL_FAILURES as exc:
                error = map_error(exc, "the gateway", self.token)
                if not isinstance(error, DiscordUnreachable):
                    self.report(str(error))
                    logger.error("discord: %s; the gateway connection stopped", error)
                    return
                delay = backoff.next()
                self.report(f"cannot reach the gateway ({error})")
                logger.warning("discord: %s; connecting again in %.1f s", error, delay)
            except Exception as exc:  # noqa: BLE001 - the loop boundary: logged, connect again
                delay = backoff.next()
                self.report(f"the gateway connection failed ({type(exc).__name__}); reconnecting")
                logger.warning(
                    "discord: the gateway sent what discord.py cannot read (%s: %s); "
                    "connecting again in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
            else:
                return  # the client was closed: the channel is stopping
            if loop.time() - started > HEALTHY:
                backoff.reset()  # it had been working: a new failure starts short again
                delay = self.retry_delay
            await self._disconnect(code=4000)
            await asyncio.sleep(delay)

    async def _disconnect(self, *, code: int) -> None:
        """Close the websocket, if one is open, and keep the client usable for REST."""
        socket = self.client.ws
        if socket is not None and socket.open:
            try:
                await socket.close(code=code)
            except (OSError, RuntimeError) as exc:
                logger.debug("discord: closing the gateway socket: %s", exc)
