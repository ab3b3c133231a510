"""``GET /api/v1/sessions/{key}/events`` and ``GET /api/v1/approvals/events``: Server-Sent Events.

Workers append every event of a session to the capped stream
``facio:events:{sk}``, and approval events of every session to
``facio:approvals:events`` (:mod:`workers.outbox`); this reads one with ``XREAD
BLOCK`` on a connection of its own (a blocked read would otherwise hold a
pooled connection other requests expect to come back at once) and writes
one frame per entry::

    event: response
    id: 1712345678901-0
    data: {"type": "response", "session_key": "api:x", ...}

Where it starts: after ``Last-Event-ID`` (header, or ``?last_event_id=`` for
clients that cannot set headers) when given, replaying what the stream still
holds; otherwise after the newest entry *at connect time*, read before the
response headers are sent. A client that has the headers therefore misses
nothing published afterwards, which ``XREAD $`` would not guarantee (``$``
is resolved only when the first read reaches Redis).

A ``: ping`` comment goes out after ``SSE_HEARTBEAT`` seconds without events, so
proxies keep the connection and a vanished client is noticed on the write.
The gateway also cancels the handler when the client disconnects
(``handler_cancellation``) and ends every stream cleanly on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Coroutine

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.api.sessions import session_key
from channels.boundary import json_error
from channels.context import GatewayContext, context
from channels.inputs import brief
from channels.runtime import StoredEvent

__all__ = ["approval_events", "frame", "session_events"]

logger = logging.getLogger(__name__)

READ_COUNT = 100
"""Entries per XREAD."""
_STREAM_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
"""ASCII digits only: a ``\\d`` class would take any script's digits, which Redis does not."""
MAX_ID_PART = 2**64 - 1
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


def _is_stream_id(value: str) -> bool:
    """``<ms>`` or ``<ms>-<seq>``, each part a 64-bit unsigned number, as Redis takes them."""
    return bool(_STREAM_ID.match(value)) and all(
        int(part) <= MAX_ID_PART for part in value.split("-")
    )


def frame(stored: StoredEvent) -> bytes | None:
    """One SSE frame for a stream entry; None for an unreadable one (already logged)."""
    entry_id, event, data = stored
    if event is None:
        return None
    kind = event.get("type")
    kind = kind if isinstance(kind, str) and _EVENT_TYPE.match(kind) else "message"
    if "\n" in data or "\r" in data:  # a line break would end the data field early
        data = json.dumps(event, ensure_ascii=False)
    return f"event: {kind}\nid: {entry_id}\ndata: {data}\n\n".encode()


Read = Callable[[Redis, str], Coroutine[None, None, list[StoredEvent]]]
"""Read one stream's entries after an id, on the given connection (blocking up to the heartbeat)."""


async def _pump(
    ctx: GatewayContext, read_after: Read, after: str, response: web.StreamResponse
) -> None:
    """Copy entries to the client until it leaves, Redis fails or the gateway stops.

    Reads go through a connection of their own (a blocked read would otherwise
    hold a pooled connection other requests expect back at once). Each read
    races the ``closing`` event; whichever way this ends (shutdown, a failed
    write, cancellation when the client hangs up) the pending read is
    cancelled and awaited before the connection is closed under it.
    """
    reader = ctx.runtime.reader()
    closed = asyncio.create_task(ctx.closing.wait())
    read: asyncio.Task[list[StoredEvent]] | None = None
    try:
        while True:
            read = asyncio.create_task(read_after(reader, after))
            await asyncio.wait({read, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():
                return
            entries = read.result()
            if not entries:
                await response.write(b": ping\n\n")
            for stored in entries:
                after = stored[0]  # past unreadable entries too
                data = frame(stored)
                if data is not None:
                    await response.write(data)
    finally:
        pending = [task for task in (read, closed) if task is not None and not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await reader.aclose()


def _start(request: web.Request) -> str | web.Response | None:
    """``Last-Event-ID`` (header or query) when given; a 422 answer for one that is no id."""
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if last is not None and not _is_stream_id(last):
        return json_error(422, "Last-Event-ID is not a stream id", last_event_id=brief(last))
    return last


async def _stream(
    request: web.Request, name: str, after: str, read_after: Read
) -> web.StreamResponse:
    ctx = context(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await _pump(ctx, read_after, after, response)
    except ConnectionResetError:
        logger.debug("SSE client of %s went away", name)
    except RedisError as exc:  # the client reconnects with Last-Event-ID
        logger.warning("SSE stream of %s ended: redis unavailable: %s", name, exc)
        ctx.metrics.errors.inc()
    except Exception:  # stream boundary: the headers are sent, a JSON error cannot follow
        logger.exception("SSE stream of %s failed", name)
        ctx.metrics.errors.inc()
    return response


async def session_events(request: web.Request) -> web.StreamResponse:
    """Stream the session's events until the client disconnects."""
    ctx = context(request)
    sk = session_key(request)
    last = _start(request)
    if isinstance(last, web.Response):
        return last
    after = last if last is not None else await ctx.runtime.last_event_id(sk)

    async def read_after(reader: Redis, after: str) -> list[StoredEvent]:
        return await ctx.runtime.read_events(
            reader, sk, after, block=ctx.heartbeat, count=READ_COUNT
        )

    return await _stream(request, sk, after, read_after)


async def approval_events(request: web.Request) -> web.StreamResponse:
    """Stream every session's ``approval_request`` and ``approval_decided`` events."""
    ctx = context(request)
    last = _start(request)
    if isinstance(last, web.Response):
        return last
    after = last if last is not None else await ctx.runtime.last_approval_event_id()

    async def read_after(reader: Redis, after: str) -> list[StoredEvent]:
        return await ctx.runtime.read_approval_events(
            reader, after, block=ctx.heartbeat, count=READ_COUNT
        )

    return await _stream(request, "the approvals", after, read_after)
