"""``GET/DELETE /api/v1/sessions[/{key}]``, ``POST /sessions/{key}/stop``: list, read,
stop and reset sessions.

The operator may read and reset any session, whatever its channel; only
writing turns is limited to ``api:`` keys (:mod:`channels.api.messages`).
Keys in URLs may be percent-encoded (``api%3Ax``); aiohttp decodes them.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from channels.api.approvals import OPERATOR, record_json
from channels.boundary import json_error
from channels.context import GatewayContext, context
from channels.inputs import MAX_SESSION_KEY, brief, text_value
from channels.runtime import RuntimeClient, SessionState
from core.inbound import Inbound
from core.messages import message_to_json

__all__ = [
    "delete_session",
    "get_session",
    "list_sessions",
    "session_key",
    "state_json",
    "stop_session",
]


def session_key(request: web.Request) -> str:
    """The ``{key}`` of the URL, percent-decoded; 400 for bytes that are not UTF-8,
    control characters or an absurd length."""
    return text_value(request.match_info["key"], "the session key", max_length=MAX_SESSION_KEY)


async def list_sessions(request: web.Request) -> web.Response:
    """Every session key with a stored history, sorted."""
    return web.json_response({"sessions": await context(request).runtime.session_keys()})


def state_json(state: SessionState) -> dict[str, object]:
    """A session's channel, state (idle, running, waiting_for_approval, parked) and activity."""
    return {
        "session_key": state.session_key,
        "channel": state.channel,
        "state": state.state,
        "last_activity": state.last_activity,
        "queued": state.queued,
        "pending_approvals": state.pending_approvals,
    }


async def get_session(request: web.Request) -> web.Response:
    """The history (one JSON object per message), the pending approvals and the state."""
    runtime = context(request).runtime
    sk = session_key(request)
    messages = await runtime.history(sk)
    if not messages and not await runtime.known(sk):
        return json_error(404, "no such session", session_key=brief(sk))
    state = await runtime.session_state(sk)
    pending = await runtime.pending_approvals(sk)
    return web.json_response(
        {
            "session_key": sk,
            "messages": [json.loads(message_to_json(m)) for m in messages],
            "pending_approvals": [record_json(r) for r in pending],
            "state": state_json(state),
        }
    )


async def stop_session(request: web.Request) -> web.Response:
    """``/stop``, as in a chat: cancel the running or parked turn; 202 (a worker ends it).

    Like the chat command it stops the turns queued before it, never a message
    sent after it; a session with nothing running is left as it was (still
    202: stopping is idempotent).
    """
    ctx = context(request)
    sk = session_key(request)
    await ctx.runtime.stop(sk)
    return web.json_response({"session_key": sk, "stop": "requested"}, status=202)


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
    ctx = context(request)
    sk = session_key(request)
    if not await ctx.runtime.has_work(sk):
        await ctx.runtime.forget(sk)  # nothing runs: nothing to wait for
        return web.Response(status=204)
    since = await ctx.runtime.last_event_id(sk)
    turn_id = await asyncio.shield(_queue_reset(ctx, sk))
    if await _reset_done(ctx.runtime, sk, turn_id, since, RESET_WAIT):
        return web.Response(status=204)
    return web.json_response({"turn_id": turn_id, "reset": "queued"}, status=202)


RESET_WAIT = 5.0
"""Seconds ``DELETE /sessions/{key}`` waits for a worker to reset the session."""


async def _queue_reset(ctx: GatewayContext, sk: str) -> str:
    await ctx.runtime.stop(sk)
    inbound = Inbound(
        channel=sk.split(":", 1)[0],
        session_key=sk,
        user_id=OPERATOR,
        user_name=OPERATOR,
        text="/new",
        bot=ctx.bot_of(sk),
    )
    submitted = await ctx.runtime.submit(inbound, command="reset")
    return submitted.turn_id


async def _reset_done(
    runtime: RuntimeClient, sk: str, turn_id: str, since: str, timeout: float
) -> bool:
    """Wait for the worker's ``session_reset`` event of ``turn_id``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    reader = runtime.reader()
    try:
        while (left := deadline - loop.time()) > 0:
            for entry_id, event, _raw in await runtime.read_events(reader, sk, since, block=left):
                since = entry_id
                event = event or {}
                if event.get("type") == "session_reset" and event.get("turn_id") == turn_id:
                    return True
    finally:
        await reader.aclose()
    return False
