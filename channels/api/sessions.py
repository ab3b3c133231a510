"""``GET/DELETE /api/v1/sessions[/{key}]``: list, read and reset session histories.

The operator may read and reset any session, whatever its channel; only
writing turns is limited to ``api:`` keys (:mod:`channels.api.messages`).
Keys in URLs may be percent-encoded (``api%3Ax``); aiohttp decodes them.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from redis.asyncio import Redis

from channels.api.approvals import OPERATOR, record_json
from channels.api.errors import json_error
from channels.api.state import ApiState, state
from core.config.models_channels import ChannelConfig
from core.inbound import Inbound
from core.messages import message_to_json
from workers import keys
from workers.codec import read_event, text
from workers.inbox import request_stop, submit
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
    """Reset the session the way ``/new`` does, after stopping what runs; 204 once done.

    The reset is queued like ``/new`` (so it never cuts into a running turn,
    and the worker also drops what toolsets keep for the session: its Python
    kernel), after a ``/stop`` that cancels the turn running now or parked.
    The answer waits up to ``RESET_WAIT`` seconds for a worker to do it: 204
    when the history and the session's "allow for session" rules are gone,
    202 ``{"turn_id": …, "reset": "queued"}`` when no worker got to it yet
    (it happens when one does). Resetting an unknown session is a no-op 204.
    """
    api = state(request)
    sk = session_key(request)
    if not await api.redis.exists(keys.history(sk), keys.inbox(sk), keys.sched(sk)):
        await asyncio.shield(forget_session(api.redis, sk))  # nothing runs: nothing to wait for
        return web.Response(status=204)
    since = await _last_event_id(api.redis, sk)
    turn_id = await asyncio.shield(_queue_reset(api, sk))
    if await _reset_done(api.redis, sk, turn_id, since, RESET_WAIT):
        return web.Response(status=204)
    return web.json_response({"turn_id": turn_id, "reset": "queued"}, status=202)


RESET_WAIT = 5.0
"""Seconds ``DELETE /sessions/{key}`` waits for a worker to reset the session."""


def _bot_of(api: ApiState, sk: str) -> str:
    """The bot that answers ``sk``: its channel's, or the API's."""
    channel = getattr(api.config.channels, sk.split(":", 1)[0], None)
    return channel.bot if isinstance(channel, ChannelConfig) else api.bot


async def _queue_reset(api: ApiState, sk: str) -> str:
    await request_stop(api.redis, sk, api.queue)
    inbound = Inbound(
        channel=sk.split(":", 1)[0],
        session_key=sk,
        user_id=OPERATOR,
        user_name=OPERATOR,
        text="/new",
        bot=_bot_of(api, sk),
    )
    submitted = await submit(api.redis, inbound, api.queue, command="reset")
    return submitted.turn_id


async def _last_event_id(redis: Redis, sk: str) -> str:
    last = await redis.xrevrange(keys.events(sk), count=1)
    return text(last[0][0]) if last else "0-0"


async def _reset_done(redis: Redis, sk: str, turn_id: str, since: str, timeout: float) -> bool:
    """Wait for the worker's ``session_reset`` event of ``turn_id``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        reply = await redis.xread({keys.events(sk): since}, block=max(1, int(left * 1000)))
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                since = text(entry_id)
                event = read_event(since, fields) or {}
                if event.get("type") == "session_reset" and event.get("turn_id") == turn_id:
                    return True
    return False
