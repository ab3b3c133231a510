"""``GET /api/v1/sessions/{key}/events``: the session's events as Server-Sent Events.

Workers append every event of a session to the capped stream
``facio:events:{sk}`` (:mod:`workers.outbox`); this reads it with ``XREAD
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

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from channels.api.errors import json_error
from channels.api.sessions import session_key
from channels.api.state import state
from workers import keys
from workers.codec import read_event, text

__all__ = ["frame", "session_events"]

logger = logging.getLogger(__name__)

READ_COUNT = 100
"""Entries per XREAD."""
_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
MAX_ID_PART = 2**64 - 1
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


def _is_stream_id(value: str) -> bool:
    """``<ms>`` or ``<ms>-<seq>``, each part a 64-bit unsigned number, as Redis takes them."""
    return bool(_STREAM_ID.match(value)) and all(
        int(part) <= MAX_ID_PART for part in value.split("-")
    )


def frame(entry_id: str, fields: dict[bytes | str, bytes | str]) -> bytes | None:
    """One SSE frame for a stream entry; None (and a warning) for an unreadable one."""
    event = read_event(entry_id, fields)
    if event is None:
        return None
    raw = fields.get(b"data", fields.get("data"))
    kind = event.get("type")
    kind = kind if isinstance(kind, str) and _EVENT_TYPE.match(kind) else "message"
    data = text(raw) if raw is not None else ""
    if "\n" in data or "\r" in data:  # a line break would end the data field early
        data = json.dumps(event, ensure_ascii=False)
    return f"event: {kind}\nid: {entry_id}\ndata: {data}\n\n".encode()


async def _newest_id(reader: Redis, stream: str) -> str:
    newest = await reader.xrevrange(stream, count=1)
    return text(newest[0][0]) if newest else "0-0"


async def _read(
    reader: Redis, stream: str, after: str, block: float
) -> list[tuple[str, bytes | None]]:
    """The next entries after ``after`` as (id, frame), waiting up to ``block`` seconds."""
    reply = await reader.xread({stream: after}, count=READ_COUNT, block=max(int(block * 1000), 1))
    frames: list[tuple[str, bytes | None]] = []
    for _name, entries in reply or []:
        for raw_id, fields in entries:
            entry_id = text(raw_id)
            frames.append((entry_id, frame(entry_id, fields)))
    return frames


async def _pump(
    reader: Redis,
    stream: str,
    after: str,
    response: web.StreamResponse,
    closing: asyncio.Event,
    heartbeat: float,
) -> None:
    """Copy entries to the client until it leaves, Redis fails or the gateway stops.

    Each read races the ``closing`` event; whichever way this ends (shutdown,
    a failed write, cancellation when the client hangs up) the pending read
    is cancelled and awaited before the caller closes the connection under it.
    """
    closed = asyncio.create_task(closing.wait())
    read: asyncio.Task[list[tuple[str, bytes | None]]] | None = None
    try:
        while True:
            read = asyncio.create_task(_read(reader, stream, after, heartbeat))
            await asyncio.wait({read, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not read.done():
                return
            frames = read.result()
            if not frames:
                await response.write(b": ping\n\n")
            for entry_id, data in frames:
                after = entry_id  # past unreadable entries too
                if data is not None:
                    await response.write(data)
    finally:
        pending = [task for task in (read, closed) if task is not None and not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def session_events(request: web.Request) -> web.StreamResponse:
    """Stream the session's events until the client disconnects."""
    api = state(request)
    sk = session_key(request)
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if last is not None and not _is_stream_id(last):
        return json_error(422, "Last-Event-ID is not a stream id", last_event_id=last)
    stream = keys.events(sk)
    reader = Redis(connection_pool=api.redis.connection_pool, single_connection_client=True)
    try:
        after = last if last is not None else await _newest_id(reader, stream)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        try:
            await _pump(reader, stream, after, response, api.closing, api.heartbeat)
        except ConnectionResetError:
            logger.debug("SSE client of %s went away", sk)
        except RedisError as exc:  # the client reconnects with Last-Event-ID
            logger.warning("SSE stream of %s ended: redis unavailable: %s", sk, exc)
            api.metrics.errors.inc()
        except Exception:  # stream boundary: the headers are sent, a JSON error cannot follow
            logger.exception("SSE stream of %s failed", sk)
            api.metrics.errors.inc()
        return response
    finally:
        await reader.aclose()
