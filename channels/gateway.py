"""The gateway process: owns the platforms and the HTTP API, never runs the agent.

    async with Gateway(config, redis_url) as gw:
        print(gw.url)            # http://127.0.0.1:8765
        await stop.wait()

It opens its Redis pool (arq's, so it can enqueue drain jobs), builds the
channel adapters of the enabled platforms (:mod:`channels.registry`; each may
add webhook routes), serves the aiohttp application of :mod:`channels.api`
on ``gateway.host:port``, then starts the channels, the outbox consumer that
renders the workers' events through them
(:class:`channels.outbox_consumer.OutboxConsumer`) and any extra *services*,
each with ``start()``/``stop()``. Everything is stopped in reverse order, also
when starting fails half-way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol

from aiohttp import web
from redis.asyncio import Redis

from channels.api import ApiChannel
from channels.app import create_app
from channels.base import Channel
from channels.context import SSE_HEARTBEAT, GatewayContext, HealthCheck
from channels.metrics import Metrics
from channels.outbox_consumer import OutboxConsumer, OutboxTimings
from channels.registry import ChannelsFactory, build_channels
from channels.runtime import RuntimeClient, worker_id
from core.config import FacioConfig
from core.errors import FacioError

__all__ = ["SHUTDOWN_TIMEOUT", "Gateway", "GatewayBindError", "Service", "consumer_name"]

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 10.0
"""Seconds in-flight requests get to finish when the gateway stops."""


class GatewayBindError(FacioError):
    """The HTTP site cannot listen on ``gateway.host:gateway.port`` (in use, not allowed, …).

    One line that names the address, the config keys and the way out; the
    ``OSError`` is its ``__cause__``.
    """

    def __init__(self, host: str, port: int, exc: OSError) -> None:
        self.host = host
        self.port = port
        if isinstance(exc, socket.gaierror) or not exc.errno or exc.errno < 0:
            reason = exc.strerror or str(exc)
        else:
            reason = os.strerror(exc.errno)
        shown = f"[{host}]" if ":" in host else host
        super().__init__(
            f"cannot listen on {shown}:{port} (gateway.host, gateway.port {port}): "
            f"{reason.lower()}; choose another port with --port N or gateway.port, "
            "or stop what uses it"
        )


def consumer_name(host: str, port: int) -> str:
    """The gateway's name among the live gateways and in the outbox's consumer groups.

    Host name, address and port: two gateways cannot listen on one address and
    port at once, so no live gateway shares it, and a restarted one comes back
    under the same name. With port 0 (tests) it is unique per process.
    """
    if not port:
        return f"gateway:{worker_id()}"
    return f"gateway:{socket.gethostname()}:{host}:{port}"


class Service(Protocol):
    """Something the gateway runs beside the HTTP site (a channel adapter, the outbox consumer)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Gateway:
    """The HTTP site, the Redis pool and the services, started and stopped together.

    ``host``/``port`` override ``config.gateway`` (``port=0`` picks a free port;
    :attr:`port` tells which). ``metrics`` is shared with the services.
    ``channels`` builds the channel adapters (default: one per enabled
    platform in the config); ``consumer`` names this gateway in the outbox's
    consumer group (default: :func:`consumer_name`); ``outbox_timings`` are
    the outbox consumer's (production's by default).
    """

    def __init__(
        self,
        config: FacioConfig,
        redis_url: str,
        *,
        host: str | None = None,
        port: int | None = None,
        metrics: Metrics | None = None,
        services: Sequence[Service] = (),
        sse_heartbeat: float = SSE_HEARTBEAT,
        channels: ChannelsFactory = build_channels,
        consumer: str | None = None,
        outbox_timings: OutboxTimings | None = None,
    ) -> None:
        self.config = config
        self.redis_url = redis_url
        self.host = config.gateway.host if host is None else host
        self.requested_port = config.gateway.port if port is None else port
        self.metrics = metrics or Metrics()
        self.services = list(services)
        self.sse_heartbeat = sse_heartbeat
        self._health: dict[str, HealthCheck] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._runner: web.AppRunner | None = None
        self._runtime: RuntimeClient | None = None
        self._channels_factory = channels
        self.consumer_name = consumer or consumer_name(self.host, self.requested_port)
        self.outbox_timings = outbox_timings or OutboxTimings()
        self.channels: list[Channel] = []
        self.consumer: OutboxConsumer | None = None

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        """Report ``check`` under ``channels.<name>`` of ``/healthz`` (before or after start)."""
        self._health[name] = check

    @property
    def runtime(self) -> RuntimeClient:
        """The gateway's runtime client; only while running."""
        if self._runtime is None:
            raise RuntimeError("the gateway is not running")
        return self._runtime

    @property
    def redis(self) -> Redis:
        """The gateway's Redis pool (bytes replies); only while running."""
        return self.runtime.redis

    @property
    def port(self) -> int:
        """The TCP port the site is bound to (the real one when 0 was asked)."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the gateway is not running")
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Connect to Redis, serve HTTP, start the services; undo it all on failure.

        Raises:
            GatewayBindError: the HTTP site cannot listen on its host and port.
        """
        if self._stack is not None:
            raise RuntimeError("the gateway is already running")
        stack = contextlib.AsyncExitStack()
        try:
            self._runtime = runtime = await RuntimeClient.connect(self.redis_url)
            stack.push_async_callback(self._close_runtime)
            ctx = GatewayContext(
                self.config,
                runtime,
                self.metrics,
                health_checks=self._health,
                heartbeat=self.sse_heartbeat,
            )
            self.channels = [ApiChannel(), *self._channels_factory(ctx)]
            app = create_app(ctx)
            for channel in self.channels:
                channel.routes(app)
                self._health.setdefault(channel.name, channel.health)
            # handler_cancellation: a client that hangs up ends its SSE stream at once.
            runner = web.AppRunner(
                app, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT
            )
            await runner.setup()
            stack.push_async_callback(self._cleanup_runner)
            self._runner = runner
            await self._listen(runner)
            self.consumer = OutboxConsumer(
                runtime,
                {c.name: c for c in self.channels},
                self.metrics,
                self.consumer_name,
                timings=self.outbox_timings,
            )
            started: list[Service] = [*self.channels, self.consumer, *self.services]
            for service in started:
                await service.start()
                stack.push_async_callback(self._stop_service, service)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        logger.info("gateway listening on %s", self.url)

    async def _listen(self, runner: web.AppRunner) -> None:
        try:
            await web.TCPSite(runner, self.host, self.requested_port).start()
        except OSError as exc:
            raise GatewayBindError(self.host, self.requested_port, exc) from exc

    async def stop(self) -> None:
        """Stop the services (last started first), the site, then close Redis."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def _stop_service(self, service: Service) -> None:
        try:
            await service.stop()
        except Exception:  # shutdown boundary: one service failing must not keep the rest up
            logger.exception("stopping %s failed", service.name)
            self.metrics.errors.inc()

    async def _cleanup_runner(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _close_runtime(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            await runtime.aclose()

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
