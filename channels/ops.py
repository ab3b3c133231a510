"""``GET /healthz`` and ``GET /metrics``: for load balancers and Prometheus, no auth.

Health is 503 only when Redis does not answer: without it the gateway can
neither queue a turn nor render one. A channel reporting a problem makes the
status ``degraded`` but keeps 200, so an orchestrator does not restart the
whole gateway because one platform is down.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from redis.exceptions import RedisError

from channels.context import GatewayContext, HealthCheck, context
from channels.metrics import CONTENT_TYPE, Gauge

__all__ = ["channel_statuses", "healthz", "prometheus", "redis_status"]

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds a health probe (Redis PING, a channel) may take before it counts as failed."""


async def redis_status(ctx: GatewayContext) -> str:
    """``"ok"`` when Redis answers a PING in time, else what went wrong."""
    try:
        await asyncio.wait_for(ctx.redis.ping(), PROBE_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "ok"


async def _channel_status(name: str, probe: HealthCheck) -> str:
    try:
        return await asyncio.wait_for(probe(), PROBE_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # a channel's probe is foreign code: report, never raise
        logger.warning("health probe of channel %s failed", name, exc_info=True)
        return f"error: {type(exc).__name__}"


async def channel_statuses(ctx: GatewayContext) -> dict[str, str]:
    """Every registered channel's probe, run side by side: name → ``"ok"`` or the problem."""
    names = sorted(ctx.health_checks)
    results = await asyncio.gather(*(_channel_status(n, ctx.health_checks[n]) for n in names))
    return dict(zip(names, results, strict=True))


async def healthz(request: web.Request) -> web.Response:
    """Redis and every registered channel; 503 when Redis is down."""
    ctx = context(request)
    redis_ok = await redis_status(ctx)
    channels = await channel_statuses(ctx)
    if redis_ok != "ok":
        status = "error"
    elif all(result == "ok" for result in channels.values()):
        status = "ok"
    else:
        status = "degraded"
    body = {"status": status, "redis": redis_ok, "channels": channels}
    return web.json_response(body, status=503 if redis_ok != "ok" else 200)


async def _gauges(ctx: GatewayContext) -> list[Gauge]:
    """Queue depth (inboxes of active sessions) and pending approvals, read now."""
    try:
        queued, pending = await ctx.runtime.queue_depth()
    except RedisError as exc:
        logger.warning("metrics: redis unavailable: %s", exc)
        return [Gauge("facio_redis_up", "Whether Redis answered this scrape.", 0)]
    return [
        Gauge("facio_redis_up", "Whether Redis answered this scrape.", 1),
        Gauge("facio_queue_depth", "Turns waiting in the inboxes of active sessions.", queued),
        Gauge("facio_approvals_pending", "Approvals waiting for a decision.", pending),
    ]


async def prometheus(request: web.Request) -> web.Response:
    """The Prometheus text exposition of this gateway's counters and the queue gauges."""
    ctx = context(request)
    text = ctx.metrics.render(await _gauges(ctx))
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})
