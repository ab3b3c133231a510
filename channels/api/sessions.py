"""``GET/DELETE /api/v1/sessions[/{key}]``: list, read and reset session histories.

The operator may read and reset any session, whatever its channel; only
writing turns is limited to ``api:`` keys (:mod:`channels.api.messages`).
Keys in URLs may be percent-encoded (``api%3Ax``); aiohttp decodes them.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from channels.api.approvals import record_json
from channels.api.errors import json_error
from channels.api.state import state
from core.messages import message_to_json
from workers import keys
from workers.stores import forget_session

__all__ = ["delete_session", "get_session", "list_sessions", "session_key"]


def session_key(request: web.Request) -> str:
    """The ``{key}`` of the URL, percent-decoded."""
    return request.match_info["key"]


async def list_sessions(request: web.Request) -> web.Response:
    """Every session key with a stored history, sorted."""
    return web.json_response({"sessions": await state(request).sessions.keys()})


async def get_session(request: web.Request) -> web.Response:
    """The history (one JSON object per message) and the session's pending approvals."""
    api = state(request)
    sk = session_key(request)
    messages = await api.sessions.load(sk)
    if not messages and not await api.redis.sismember(keys.SESSIONS, sk):  # type: ignore[misc]
        return json_error(404, "no such session", session_key=sk)
    pending = await api.approvals.pending(session_key=sk)
    return web.json_response(
        {
            "session_key": sk,
            "messages": [json.loads(message_to_json(m)) for m in messages],
            "pending_approvals": [record_json(r) for r in pending],
        }
    )


async def delete_session(request: web.Request) -> web.Response:
    """Reset: forget the history and the session's "allow for session" rules; 204.

    Turns still queued for the session run afterwards on the fresh history;
    a turn running right now may still write its last steps.
    """
    await asyncio.shield(forget_session(state(request).redis, session_key(request)))
    return web.Response(status=204)
