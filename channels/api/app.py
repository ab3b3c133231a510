"""The gateway's aiohttp application: health, metrics and the ``/api/v1`` API channel.

``/healthz`` and ``/metrics`` are open (probes and scrapers carry no token);
everything under ``/api/v1`` is a sub-application behind the bearer check.
The root middleware turns every error into JSON and counts every answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from redis.asyncio import Redis

from channels.api.approvals import decide_approval, list_approvals
from channels.api.auth import bearer_auth
from channels.api.errors import boundary
from channels.api.events import session_events
from channels.api.messages import post_message
from channels.api.metrics import Metrics
from channels.api.ops import healthz, prometheus
from channels.api.sessions import delete_session, get_session, list_sessions
from channels.api.state import SSE_HEARTBEAT, STATE, ApiState, HealthCheck
from core.config import FacioConfig
from workers.inbox import JobQueue

__all__ = ["API_PREFIX", "add_health_check", "create_app"]

API_PREFIX = "/api/v1"


def _api() -> web.Application:
    v1 = web.Application(middlewares=[bearer_auth])
    v1.router.add_post("/messages", post_message)
    v1.router.add_get("/sessions", list_sessions)
    v1.router.add_get("/sessions/{key}/events", session_events)
    v1.router.add_get("/sessions/{key}", get_session)
    v1.router.add_delete("/sessions/{key}", delete_session)
    v1.router.add_get("/approvals", list_approvals)
    v1.router.add_post("/approvals/{approval_id}", decide_approval)
    return v1


async def _end_streams(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: SSE streams never end by themselves."""
    app[STATE].closing.set()


def create_app(
    config: FacioConfig,
    redis: Redis,
    queue: JobQueue,
    *,
    metrics: Metrics,
    health_checks: Mapping[str, HealthCheck] | None = None,
    sse_heartbeat: float = SSE_HEARTBEAT,
) -> web.Application:
    """The application, on ``redis`` (bytes replies, as arq's pool) and ``queue``.

    The caller owns ``redis`` and closes it after the application stops.
    ``health_checks`` (channel name → probe) can also be added later with
    :func:`add_health_check`, until the first request.
    """
    app = web.Application(middlewares=[boundary])
    app[STATE] = ApiState(
        config=config,
        redis=redis,
        queue=queue,
        metrics=metrics,
        health_checks=dict(health_checks or {}),
        heartbeat=sse_heartbeat,
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    app.add_subapp(API_PREFIX, _api())
    app.on_shutdown.append(_end_streams)
    return app


def add_health_check(app: web.Application, name: str, check: HealthCheck) -> None:
    """Register a channel's health probe; ``/healthz`` reports it under ``channels.<name>``."""
    app[STATE].health_checks[name] = check
