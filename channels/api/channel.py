"""The HTTP API as a channel: it adds ``/api/v1`` to the gateway and renders nothing.

Its clients read a session's events themselves (Server-Sent Events,
:mod:`channels.api.events`), so outbox events of ``api:`` sessions need no
rendering in the gateway. It is always on with the gateway.
"""

from __future__ import annotations

from aiohttp import web

from channels.api.approvals import decide_approval, list_approvals
from channels.api.auth import bearer_auth
from channels.api.events import approval_events, session_events
from channels.api.messages import post_message
from channels.api.openapi import openapi
from channels.api.overview import runtime_health, runtime_sessions
from channels.api.ratelimit import FailureLimiter
from channels.api.schedules import create_schedule, delete_schedule, list_schedules
from channels.api.sessions import delete_session, get_session, list_sessions, stop_session
from core.wire import WireEvent

__all__ = ["API_PREFIX", "OPENAPI_PATH", "ApiChannel", "api_app"]

API_PREFIX = "/api/v1"
OPENAPI_PATH = API_PREFIX + "/openapi.json"
"""The one path of the API served without a token."""


def api_app(limiter: FailureLimiter | None = None) -> web.Application:
    """The ``/api/v1`` application: every route, behind the bearer check (and its limiter)."""
    v1 = web.Application(middlewares=[bearer_auth(limiter or FailureLimiter(), {OPENAPI_PATH})])
    v1.router.add_get("/openapi.json", openapi)
    v1.router.add_post("/messages", post_message)
    v1.router.add_get("/sessions", list_sessions)
    v1.router.add_get("/sessions/{key}/events", session_events)
    v1.router.add_post("/sessions/{key}/stop", stop_session)
    v1.router.add_get("/sessions/{key}", get_session)
    v1.router.add_delete("/sessions/{key}", delete_session)
    v1.router.add_get("/approvals", list_approvals)
    v1.router.add_get("/approvals/events", approval_events)
    v1.router.add_post("/approvals/{approval_id}", decide_approval)
    v1.router.add_get("/schedules", list_schedules)
    v1.router.add_post("/schedules", create_schedule)
    v1.router.add_delete("/schedules/{schedule_id}", delete_schedule)
    v1.router.add_get("/runtime", runtime_health)
    v1.router.add_get("/runtime/sessions", runtime_sessions)
    return v1


class ApiChannel:
    """``/api/v1`` (docs/design.md "The HTTP API"): messages, sessions, events, approvals,
    schedules, runtime."""

    name = "api"

    def __init__(self, limiter: FailureLimiter | None = None) -> None:
        self.limiter = limiter or FailureLimiter()
        """Failed sign-ins per client address, shared by every request to this gateway."""

    def routes(self, app: web.Application) -> None:
        app.add_subapp(API_PREFIX, api_app(self.limiter))

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def render(self, event: WireEvent) -> None:
        return None  # SSE clients read the session's stream themselves

    async def health(self) -> str:
        return "ok"
