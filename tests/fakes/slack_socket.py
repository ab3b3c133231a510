"""Socket Mode of the fake Slack: the websocket an app opens with ``apps.connections.open``'s URL.

The protocol (docs.slack.dev/apis/events-api/using-socket-mode):

- ``apps.connections.open`` (app-level ``xapp-`` token) gives a one-time URL,
  ``ws://127.0.0.1:<port>/link/?ticket=…&app_id=…`` here (``wss://…slack.com``
  at Slack). A ticket works once; an unknown or used one is refused (401).
- On connect Slack sends ``{"type": "hello", "num_connections", "connection_info":
  {"app_id"}, "debug_info": {"host", "build_number", "approximate_connection_time"}}``.
- Envelopes: ``{"envelope_id", "payload", "type", "accepts_response_payload"}``
  (+ ``retry_attempt``/``retry_reason`` for ``events_api``); the app answers
  ``{"envelope_id", "payload"?}`` — :mod:`tests.fakes.slack_delivery` waits
  for it and redelivers.
- An app may hold up to 10 connections; each envelope goes to one of them
  (round robin here; Slack promises no pattern). An 11th gets
  ``{"type": "disconnect", "reason": "too_many_websockets"}``.
- ``{"type": "disconnect", "reason": "warning" | "refresh_requested" |
  "link_disabled"}`` announce that Slack closes the connection; slack_sdk's
  client then opens a new one (:meth:`SocketMode.disconnect`).
- Websocket pings are answered with pongs (slack_sdk pings every
  ``ping_interval`` and reconnects when pongs stop: :meth:`SocketMode.mute_pongs`);
  :meth:`SocketMode.ping` pings the app, whose pong is recorded.

Envelopes pushed while no connection is open wait for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_workspace import APP_ID, State

__all__ = ["MAX_CONNECTIONS", "Connection", "SocketMode"]

MAX_CONNECTIONS = 10
_HOST = "applink-fake-1"


@dataclass
class Connection:
    """One Socket Mode websocket (read it; the server writes it)."""

    id: int
    opened_at: float
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    closed_at: float | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    pings: int = 0
    """Pings the app sent."""
    pongs: int = 0
    """Pongs the app sent back to :meth:`SocketMode.ping`."""
    ready: bool = False
    """Said hello: envelopes may go to it."""

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketMode:
    """The websocket side; :class:`tests.fakes.slack_server.FakeSlack` mixes it in."""

    _lock: threading.Lock
    _state: State
    _loop: asyncio.AbstractEventLoop | None

    def __init__(self) -> None:
        self.max_connections = MAX_CONNECTIONS
        self._connections: list[Connection] = []
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._opened: asyncio.Condition | None = None
        self._pongs_muted = False

    # --- what tests use ----------------------------------------------------

    def connections(self, *, open_only: bool = True) -> list[Connection]:
        with self._lock:
            return [c for c in self._connections if c.open or not open_only]

    def disconnect(
        self, reason: str = "refresh_requested", *, close_after: float | None = 1.0
    ) -> None:
        """Send every open connection a ``disconnect``; close it after ``close_after`` s."""
        for connection in self.ready_connections():
            self._on_loop(self._disconnect(connection, reason, close_after))

    def drop_connections(self) -> None:
        """Cut every open connection without a close frame (a network failure)."""
        for connection in self.connections():
            self._on_loop(self._drop(connection))

    def mute_pongs(self, muted: bool = True) -> None:
        """Stop (or resume) answering the app's pings: a connection gone stale."""
        with self._lock:
            self._pongs_muted = muted

    def ping(self) -> None:
        """Ping every open connection; pongs are counted in :attr:`Connection.pongs`."""
        for connection in self.ready_connections():
            self._on_loop(connection.ws.ping(b"fake-slack-ping"))

    # --- the server side -----------------------------------------------------

    def _on_loop(self, coro: Any) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    if TYPE_CHECKING:  # the delivery side's

        def _acknowledged(self, frame: dict[str, Any]) -> bool: ...

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            known = ticket in self._state.tickets
            self._state.tickets.discard(ticket)
        if not known:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=False, max_msg_size=0, timeout=1.0)
        with self._lock:  # known before the app sees the handshake done
            connection = Connection(next(self._ids), time.perf_counter(), ws, request)
            self._connections.append(connection)
            count = sum(c.open for c in self._connections)
        await ws.prepare(request)
        if count > self.max_connections:
            await self._frame(
                connection,
                {
                    "type": "disconnect",
                    "reason": "too_many_websockets",
                    "debug_info": {"host": _HOST},
                },
            )
            await self._closed(connection)
            return ws
        await self._frame(connection, self._hello(count))
        with self._lock:
            connection.ready = True
        assert self._opened is not None
        async with self._opened:
            self._opened.notify_all()
        try:
            await self._receive(connection)
        finally:
            await self._closed(connection)
        return ws

    def _hello(self, count: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": _HOST,
                "started": time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime()),
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }

    async def _receive(self, connection: Connection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    frame = {"unparsable": message.data}
                with self._lock:
                    connection.received.append(frame)
                if isinstance(frame, dict) and "envelope_id" in frame:
                    self._acknowledged(frame)
            elif message.type == WSMsgType.PING:
                with self._lock:
                    connection.pings += 1
                    muted = self._pongs_muted
                if not muted:
                    await connection.ws.pong(message.data)
            elif message.type == WSMsgType.PONG:
                with self._lock:
                    connection.pongs += 1

    async def _closed(self, connection: Connection) -> None:
        with self._lock:
            if connection.closed_at is None:
                connection.closed_at = time.perf_counter()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.ws.close()

    async def _frame(self, connection: Connection, frame: dict[str, Any]) -> None:
        with self._lock:
            connection.sent.append(frame)
        await connection.ws.send_str(json.dumps(frame))

    def ready_connections(self) -> list[Connection]:
        """The open connections that got their ``hello`` (``await slack.until(...)`` on it
        after ``connect_async()``: the app's handshake can finish before the hello)."""
        return [c for c in self.connections() if c.ready]

    async def _send_envelope(self, frame: dict[str, Any]) -> int:
        assert self._opened is not None
        while True:
            async with self._opened:
                await self._opened.wait_for(lambda: bool(self.ready_connections()))
            live = self.ready_connections()
            if not live:
                continue
            connection = live[next(self._turn) % len(live)]
            try:
                await self._frame(connection, frame)
            except (ConnectionError, RuntimeError):
                await self._closed(connection)
                continue
            return connection.id

    async def _disconnect(
        self, connection: Connection, reason: str, close_after: float | None
    ) -> None:
        frame = {"type": "disconnect", "reason": reason, "debug_info": {"host": _HOST}}
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._frame(connection, frame)
        if close_after is not None:
            assert self._loop is not None
            self._loop.call_later(
                close_after, lambda: asyncio.ensure_future(self._closed(connection))
            )

    async def _drop(self, connection: Connection) -> None:
        transport = connection.request.transport
        with self._lock:
            connection.closed_at = time.perf_counter()
        if transport is not None:
            transport.abort()
