"""``POST /api/v1/messages``: queue a turn on an ``api:`` session.

Each message is its own turn, queued behind the running one (docs/runtime.md,
rule 1). An ``Idempotency-Key`` header becomes the turn's event id, so a
client that retries a request it never got an answer to queues it once: the
retry gets 200 ``{"turn_id": null, "duplicate": true}`` (the runtime keeps
only *that* the key was seen, for 15 minutes, not the turn id).
"""

from __future__ import annotations

from aiohttp import web

from channels.api.bodies import MAX_TEXT_CHARS, MessageBody, read_body
from channels.boundary import json_error
from channels.context import context
from channels.inputs import BadInput, text_value
from core.inbound import Inbound

__all__ = ["IDEMPOTENCY_HEADER", "post_message"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 200


async def post_message(request: web.Request) -> web.Response:
    """Queue the message; 202 with its turn id."""
    body = await read_body(request, MessageBody)
    if isinstance(body, web.Response):
        return body
    if len(body.text) > MAX_TEXT_CHARS:
        return json_error(413, f"text is longer than {MAX_TEXT_CHARS} characters")
    event_id = request.headers.get(IDEMPOTENCY_HEADER) or None
    if event_id is not None:
        try:
            text_value(event_id, IDEMPOTENCY_HEADER, max_length=MAX_IDEMPOTENCY_KEY)
        except BadInput as exc:
            return json_error(422, str(exc))
    ctx = context(request)
    inbound = Inbound(
        channel="api",
        session_key=body.session,
        user_id=body.user,
        user_name=body.user,
        text=body.text,
        event_id=event_id,
        bot=ctx.bot,
    )
    submitted = await ctx.runtime.submit(inbound)
    if submitted.duplicate:
        return web.json_response({"turn_id": None, "duplicate": True}, status=200)
    ctx.metrics.turns_submitted.inc()
    return web.json_response({"turn_id": submitted.turn_id}, status=202)
