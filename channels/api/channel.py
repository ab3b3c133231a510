"""The HTTP API as a channel: it adds ``/api/v1`` to the gateway and renders nothing.

Its clients read a session's events themselves (Server-Sent Events,
:mod:`channels.api.events`), so outbox events of ``api:`` sessions need no
rendering in the gateway. It is always on with the gateway.
"""

from __future__ import annotations

from aiohttp import web

from channels.api.approvals import decide_approval, list_approvals
from channels.api.auth import bearer_auth
from channels.api.events import session_events
from channels.api.messages import post_message
from channels.api.schedules import create_schedule, delete_schedule, list_schedules
from channels.api.sessions import delete_session, get_session, list_sessions
from core.wire import WireEvent

__all__ = ["API_PREFIX", "ApiChannel"]

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
    v1.router.add_get("/schedules", list_schedules)
    v1.router.add_post("/schedules", create_schedule)
    v1.router.add_delete("/schedules/{schedule_id}", delete_schedule)
    return v1


class ApiChannel:
    """``/api/v1`` (DESIGN.md "Gateway HTTP"): messages, sessions, events, approvals,
    schedules."""

    name = "api"

    def routes(self, app: web.Application) -> None:
        app.add_subapp(API_PREFIX, _api())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def render(self, event: WireEvent) -> None:
        return None  # SSE clients read the session's stream themselves

    async def health(self) -> str:
        return "ok"
