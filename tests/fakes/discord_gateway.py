"""The fake Discord's gateway: the v10 websocket protocol, as discord.py speaks it.

A connection gets op 10 HELLO (``heartbeat_interval`` in ms); each op 1
heartbeat gets an op 11 ACK (unless :attr:`Gateway.acks` is off: then the
client sees nothing for a while and reconnects as from a zombie connection).
Op 2 IDENTIFY checks the token (close 4004), the intents (4013 unknown bits,
4014 a privileged intent the application has not enabled — discord.py raises
``PrivilegedIntentsRequired``) and that the connection has not identified
already (4005), then opens a session: READY (user, ``session_id``,
``resume_gateway_url``, the guilds as unavailable, the application's id and
flags) and one GUILD_CREATE per guild. Dispatches (op 0) carry increasing
sequence numbers per session and are kept, so op 6 RESUME replays what came
after the client's ``seq`` and ends with RESUMED; an unknown or ended session
gets op 9 INVALID_SESSION ``false``, a ``seq`` from the future close 4007.
Anything but a heartbeat, IDENTIFY or RESUME before identifying closes 4003;
an unknown opcode 4001; a payload that is not JSON, or over 4,096 bytes, 4002.
A client's close with 1000/1001 ends its session (Discord's rule); any other
close, or a dropped connection, leaves it resumable.

Query string: ``v`` must be 10 (else close 4012), ``encoding`` json (etf is
refused with 4002: the fake speaks only JSON), ``compress`` may be
``zlib-stream`` (one zlib context per connection, each payload ending in a
``Z_SYNC_FLUSH``, optionally split over several frames) or ``zstd-stream``
(when the ``zstandard`` module, or Python 3.14's ``compression.zstd``, is
there — it is what discord.py asks for when it can decompress it).

Several sessions of one token may be live at once (Discord allows it: the
same shard may be identified twice) and each gets every dispatch, as with
Discord — so a second gateway process with the same token would see every
event twice. :attr:`Gateway.identifies` and :meth:`Gateway.live` show it.

Events obey intents: GUILD_CREATE/THREAD_CREATE need GUILDS, guild messages
GUILD_MESSAGES, DMs DIRECT_MESSAGES; without MESSAGE_CONTENT a message's
``content``, ``embeds``, ``attachments`` and ``components`` arrive empty unless
it is a DM, the bot's own, or mentions the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

__all__ = ["Connection", "Gateway", "Identify", "Intents", "Session", "World"]


_TRACE = ['["gateway-prd-fake-1",{"micros":1000,"calls":[]}]']


class Intents:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
    KNOWN = sum(1 << b for b in (*range(0, 17), 20, 21, 24, 25))


class World(Protocol):
    """What the gateway asks of the server it belongs to."""

    token: str
    privileged_intents: int

    def ready_payload(self, session_id: str, shard: list[int] | None) -> dict[str, Any]: ...

    def guild_create_payloads(self) -> list[dict[str, Any]]: ...

    def bot_id(self) -> int: ...


@dataclass
class Identify:
    """One IDENTIFY, accepted (``session_id``) or refused (``close_code``)."""

    intents: int | None
    shard: list[int] | None
    at: float
    session_id: str | None = None
    close_code: int | None = None


@dataclass
class Connection:
    """One websocket connection: where it came in, what it did, how it ended."""

    path: str
    query: dict[str, str]
    opened: float
    socket: web.WebSocketResponse
    request: web.Request
    heartbeats: int = 0
    session_id: str | None = None
    resumed: bool = False
    close_code: int | None = None
    """Who closed it and how: ours (4004, …) or the client's."""
    pack: Callable[[str], bytes] | None = None


@dataclass
class Session:
    id: str
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Every dispatch of the session, for replay on RESUME."""
    connection: Connection | None = None
    ended: bool = False


def _zlib_packer() -> Callable[[str], bytes]:
    context = zlib.compressobj()

    def pack(text: str) -> bytes:
        return context.compress(text.encode()) + context.flush(zlib.Z_SYNC_FLUSH)

    return pack


def _zstd_packer() -> Callable[[str], bytes] | None:
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            return None
        compressor = zstd.ZstdCompressor()
        return lambda text: bytes(compressor.compress(text.encode(), mode=compressor.FLUSH_BLOCK))
    stream = zstandard.ZstdCompressor().compressobj()
    return lambda text: bytes(
        stream.compress(text.encode()) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    )


class Gateway:
    """The websocket side of :class:`tests.fakes.discord_server.FakeDiscord`."""

    def __init__(self, world: World, heartbeat_interval: float, resume_url: str) -> None:
        self.world = world
        self.heartbeat_interval = heartbeat_interval
        """Seconds (HELLO sends milliseconds)."""
        self.resume_url = resume_url
        self.acks = True
        """Answer heartbeats; off, the client's connection looks dead to it."""
        self.zlib_chunk: int | None = None
        """Split each zlib-compressed payload into websocket frames of this many bytes."""
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.identifies: list[Identify] = []
        self._lock = asyncio.Lock()

    # --- what the server and tests use -------------------------------------

    def live(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.connection is not None and not s.ended]

    async def dispatch(self, event: str, data: dict[str, Any], intent: int = 0) -> int:
        """Send (and keep for replay) one event to every session whose intents allow it;
        the number of sessions that were live to get it."""
        delivered = 0
        async with self._lock:
            for session in list(self.sessions.values()):
                if session.ended or (intent and not session.intents & intent):
                    continue
                payload = self._filtered(session, event, data)
                session.seq += 1
                frame = {"op": 0, "t": event, "s": session.seq, "d": payload}
                session.sent.append(frame)
                if session.connection is not None:
                    delivered += 1
                    await self._send(session.connection, frame)
        return delivered

    async def send_op(self, op: int, data: Any = None) -> None:
        """Send a bare opcode (7 RECONNECT, 9 INVALID_SESSION, 1 HEARTBEAT) to live sessions."""
        async with self._lock:
            for session in self.live():
                assert session.connection is not None
                if op == 9 and data is False:
                    session.ended = True
                await self._send(session.connection, {"op": op, "d": data})

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one payload to live sessions, unchecked (a malformed frame)."""
        async with self._lock:
            for session in self.live():
                assert session.connection is not None
                await self._send_text(session.connection, text)

    async def close(self, code: int) -> None:
        """Close every live connection with ``code`` (4000-type codes leave sessions resumable)."""
        for session in self.live():
            assert session.connection is not None
            await self._close(session.connection, code)

    def drop(self) -> None:
        """Cut every live connection without a close frame (a network failure); from now
        on their sessions keep what is dispatched for the client's RESUME."""
        for session in self.live():
            connection = session.connection
            assert connection is not None
            session.connection = None
            connection.close_code = 1006
            transport = connection.request.transport
            if transport is not None:
                transport.abort()

    # --- the websocket -----------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        connection = Connection(
            request.path, dict(request.query), time.perf_counter(), socket, request
        )
        self.connections.append(connection)
        if not await self._accept_query(connection):
            return socket
        await self._send(
            connection,
            {"op": 10, "d": {"heartbeat_interval": round(self.heartbeat_interval * 1000)}},
        )
        try:
            async for msg in socket:
                if msg.type is WSMsgType.BINARY:  # the client sends JSON text
                    await self._close(connection, 4002)
                    break
                if msg.type is not WSMsgType.TEXT:
                    break
                if not await self._receive(connection, msg.data):
                    break
        finally:
            if connection.close_code is None:
                connection.close_code = socket.close_code
            self._detach(connection)
        return socket

    async def _accept_query(self, connection: Connection) -> bool:
        query = connection.query
        if query.get("v") != "10":
            await self._close(connection, 4012)
            return False
        if query.get("encoding", "json") != "json":
            await self._close(connection, 4002)
            return False
        compress = query.get("compress")
        if compress == "zlib-stream":
            connection.pack = _zlib_packer()
        elif compress == "zstd-stream":
            connection.pack = _zstd_packer()
            if connection.pack is None:
                await self._close(connection, 4000)
                return False
        elif compress is not None:
            await self._close(connection, 4000)
            return False
        return True

    async def _receive(self, connection: Connection, text: str) -> bool:
        """Handle one client payload; ``False`` once the connection is closed."""
        if len(text.encode()) > 4096:
            await self._close(connection, 4002)
            return False
        try:
            payload = json.loads(text)
            op, data = payload["op"], payload.get("d")
        except (ValueError, KeyError, TypeError):
            await self._close(connection, 4002)
            return False
        if op == 1:
            connection.heartbeats += 1
            if self.acks:
                await self._send(connection, {"op": 11})
            return True
        if op == 2:
            return await self._identify(connection, data or {})
        if op == 6:
            return await self._resume(connection, data or {})
        if op in (3, 4, 8, 31):  # presence, voice state, request members, soundboard
            if connection.session_id is None:
                await self._close(connection, 4003)
                return False
            return True
        await self._close(connection, 4001)
        return False

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> bool:
        intents = data.get("intents")
        record = Identify(intents, data.get("shard"), time.perf_counter())
        self.identifies.append(record)
        code = None
        if connection.session_id is not None:
            code = 4005
        elif data.get("token") != self.world.token:
            code = 4004
        elif not isinstance(intents, int) or intents & ~Intents.KNOWN:
            code = 4013
        elif intents & Intents.PRIVILEGED & ~self.world.privileged_intents:
            code = 4014
        if code is not None:
            record.close_code = code
            await self._close(connection, code)
            return False
        assert isinstance(intents, int)
        session = Session(secrets.token_hex(16), intents)
        record.session_id = session.id
        connection.session_id = session.id
        async with self._lock:
            self.sessions[session.id] = session
            session.connection = connection
        await self.dispatch_to(
            session, "READY", self.world.ready_payload(session.id, data.get("shard"))
        )
        if intents & Intents.GUILDS:
            for guild in self.world.guild_create_payloads():
                await self.dispatch_to(session, "GUILD_CREATE", guild)
        return True

    async def dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        async with self._lock:
            session.seq += 1
            frame = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.sent.append(frame)
            if session.connection is not None:
                await self._send(session.connection, frame)

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> bool:
        if data.get("token") != self.world.token:
            await self._close(connection, 4004)
            return False
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.ended:
            await self._send(connection, {"op": 9, "d": False})
            return True
        seq = int(data.get("seq") or 0)
        if seq > session.seq:
            await self._close(connection, 4007)
            return False
        async with self._lock:
            old = session.connection
            if old is not None and old is not connection:
                old.session_id = None
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await old.socket.close(code=4000)
            session.connection = connection
            connection.session_id = session.id
            connection.resumed = True
            for frame in session.sent:
                if frame["s"] > seq:
                    await self._send(connection, frame)
            session.seq += 1
            resumed = {"op": 0, "t": "RESUMED", "s": session.seq, "d": {"_trace": _TRACE}}
            session.sent.append(resumed)
            await self._send(connection, resumed)
        return True

    def _detach(self, connection: Connection) -> None:
        session = self.sessions.get(connection.session_id or "")
        if session is None or session.connection is not connection:
            return
        session.connection = None
        if connection.close_code in (1000, 1001):
            session.ended = True

    # --- frames ------------------------------------------------------------

    def _filtered(self, session: Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
        if (
            event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            or session.intents & Intents.MESSAGE_CONTENT
        ):
            return data
        bot = str(self.world.bot_id())
        own = data.get("author", {}).get("id") == bot
        mentioned = any(u.get("id") == bot for u in data.get("mentions", []))
        if own or mentioned or data.get("channel_type") == 1:
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    async def _send(self, connection: Connection, frame: dict[str, Any]) -> None:
        await self._send_text(connection, json.dumps(frame, separators=(",", ":")))

    async def _send_text(self, connection: Connection, text: str) -> None:
        try:
            if connection.pack is None:
                await connection.socket.send_str(text)
                return
            data = connection.pack(text)
            step = self.zlib_chunk or len(data)
            for start in range(0, len(data), step):
                await connection.socket.send_bytes(data[start : start + step])
        except (ConnectionError, RuntimeError):
            pass  # the connection is going; _detach runs when its handler ends

    async def _close(self, connection: Connection, code: int) -> None:
        if connection.close_code is None:
            connection.close_code = code
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.socket.close(code=code)
