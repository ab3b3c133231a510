"""A fake Discord on loopback — REST API and gateway websocket — speaking Discord's protocol.

It runs in its own thread with its own event loop, so sync tests, async tests,
an in-process ``discord.Client`` and a ``facio up`` subprocess can all use it:

    with FakeDiscord(heartbeat_interval=0.5) as discord_:
        alice = discord_.add_user("alice")
        team = discord_.add_guild("Team", members=[alice])
        general = discord_.add_channel(team, "general")
        config = {"discord": {"token": discord_.token, "apiBase": discord_.api_base,
                              "gatewayUrl": discord_.gateway_url}}
        ...
        discord_.push_message(general, alice, f"{discord_.bot.mention} hello")
        reply = await discord_.until(lambda: discord_.sent(general.id))
        click = discord_.click(reply[-1], "approval:abc:approve", alice)
        answer = await discord_.answered(click)          # the interaction callback
        discord_.fail("POST /channels/{channel_id}/messages", 429, retry_after=0.5)

``api_base`` (``http://127.0.0.1:<port>/api/v10``) is discord.py's REST base;
``gateway_url`` (``ws://127.0.0.1:<port>/gateway``) the websocket; READY's
``resume_gateway_url`` is ``ws://…/resume``, so a test can tell a resume from a
fresh connect. ``GET /gateway`` and ``/gateway/bot`` advertise ``gateway_url``.
Attachments are served at ``http://127.0.0.1:<port>/attachments/…`` (a CDN).

What is modelled, route by route: :mod:`tests.fakes.discord_application`,
:mod:`tests.fakes.discord_rest`,
:mod:`tests.fakes.discord_interactions`, :mod:`tests.fakes.discord_gateway`;
checks: :mod:`tests.fakes.discord_validation`; faults and rate limits:
:mod:`tests.fakes.discord_faults`; what people do: :mod:`tests.fakes.discord_people`.

Not modelled: permissions beyond :meth:`~People.deny` (the bot may do anything
it asks, mention @everyone included — so a test sees un-neutered pings), ETF
encoding, payload compression, the gateway's send rate limit (120/60 s) and
its heartbeat timeout (a client that stops heartbeating is not disconnected),
slash command invocations, modals' submissions, selects' values, reactions,
pins, webhooks other than interactions', guild member chunking, presences,
voice, Components V2 beyond a count, multiple shards (``shards`` is 1).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

from tests.fakes.discord_faults import Bucket, Faults, error_response, json_response, rate_limited
from tests.fakes.discord_gateway import Connection, Gateway, Identify, Intents, Session
from tests.fakes.discord_objects import User, user
from tests.fakes.discord_people import Click, People
from tests.fakes.discord_state import Call, Callback, Interaction, State, Typing, Version
from tests.fakes.discord_validation import ApiError

__all__ = ["Click", "FakeDiscord"]

T = TypeVar("T")
Handler = Callable[[Call], Awaitable[Any]]

MESSAGE_CONTENT_LIMITED = 1 << 19
GUILD_MEMBERS_LIMITED = 1 << 15
PRESENCE_LIMITED = 1 << 13


def make_token(bot_id: int) -> str:
    """A token shaped like Discord's: base64 of the bot id, a timestamp part, an HMAC part."""
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)[:6]}.{secrets.token_urlsafe(28)[:38]}"


class FakeDiscord(People, Faults):
    """The fake Discord (see the module docstring)."""

    def __init__(
        self,
        *,
        username: str = "facio-test",
        message_content: bool = True,
        members_intent: bool = False,
        presences_intent: bool = False,
        heartbeat_interval: float = 41.25,
        interaction_window: float = 3.0,
    ) -> None:
        """``message_content`` (and the other two): the privileged intents enabled for the
        application (IDENTIFY asking for one that is not → close 4014); ``heartbeat_interval``
        in seconds (tests use a short one); ``interaction_window``: seconds to answer a click."""
        self.bot: User = user(username, bot=True, global_name=None)
        self.application_id = self.bot.id
        self.token = make_token(self.bot.id)
        self.privileged_intents = (
            (Intents.MESSAGE_CONTENT if message_content else 0)
            | (Intents.GUILD_MEMBERS if members_intent else 0)
            | (Intents.GUILD_PRESENCES if presences_intent else 0)
        )
        self.application_flags = (
            (MESSAGE_CONTENT_LIMITED if message_content else 0)
            | (GUILD_MEMBERS_LIMITED if members_intent else 0)
            | (PRESENCE_LIMITED if presences_intent else 0)
        )
        self.interaction_window = interaction_window
        self.joined = time.time()
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._state = State()
        self._state.users[self.bot.id] = self.bot
        self._buckets: dict[str, Bucket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0
        self.gateway = Gateway(self, heartbeat_interval, "")
        self._routes = self._route_table()

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> FakeDiscord:
        self._thread = threading.Thread(target=self._serve, name="fake-discord", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Discord server did not start")
        self.gateway.resume_url = self.resume_gateway_url
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(self._main(loop))
        loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.router.add_get("/attachments/{path:.*}", self._cdn)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._loop = loop
        self._ready.set()
        await self._stop.wait()
        for session in self.gateway.live():
            if session.connection is not None:
                await session.connection.socket.close(code=1001)
        await runner.cleanup()

    # --- reading what happened ---------------------------------------------

    def messages(
        self, channel_id: int | None = None, *, ephemeral: bool = False
    ) -> list[dict[str, Any]]:
        """Messages as they read now (edits applied, deleted ones gone), oldest first;
        ephemeral interaction responses only with ``ephemeral=True``."""
        with self._lock:
            channels = [channel_id] if channel_id is not None else list(self._state.messages)
            found = [
                copy.deepcopy(m)
                for c in channels
                for m in self._state.messages.get(c, {}).values()
                if ephemeral or int(m["id"]) not in self._state.ephemeral
            ]
        return sorted(found, key=lambda m: int(m["id"]))

    def sent(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's visible messages as they read now, oldest first."""
        return [m for m in self.messages(channel_id) if m["author"]["id"] == str(self.bot.id)]

    def ephemerals(self, user_id: int) -> list[dict[str, Any]]:
        """Ephemeral messages only ``user_id`` sees, as they read now."""
        with self._lock:
            ids = {m for m, u in self._state.ephemeral.items() if u == user_id}
        return [m for m in self.messages(ephemeral=True) if int(m["id"]) in ids]

    def message(self, message_id: int) -> dict[str, Any]:
        with self._lock:
            found = self._state.find(message_id)
            if found is None:
                raise KeyError(f"no message {message_id} (deleted?)")
            return copy.deepcopy(found[1])

    def history(self, message_id: int) -> list[Version]:
        """Every version of a message: created, each edit, deleted."""
        with self._lock:
            return copy.deepcopy(self._state.versions.get(message_id, []))

    def allowed_mentions(self, message_id: int) -> Any:
        """The ``allowed_mentions`` the latest create/edit of the message sent (KeyError: none)."""
        with self._lock:
            return copy.deepcopy(self._state.allowed_mentions[message_id])

    def calls(self, route: str | None = None) -> list[Call]:
        """Requests as they came (``route``: ``"POST /channels/{channel_id}/messages"``)."""
        with self._lock:
            return [copy.copy(c) for c in self._state.calls if route is None or c.key == route]

    def typing(self, channel_id: int | None = None) -> list[Typing]:
        with self._lock:
            return [t for t in self._state.typing if channel_id in (None, t.channel_id)]

    def interaction(self, click: Click) -> Interaction:
        with self._lock:
            return copy.deepcopy(self._state.interactions[click.id])

    def callbacks(self, click: Click) -> list[Callback]:
        return self.interaction(click).callbacks

    async def answered(self, click: Click, timeout: float = 10.0) -> Callback:
        """The first accepted callback of ``click`` (its ``after``: seconds since the click)."""
        return await self.until(
            lambda: next((c for c in self.callbacks(click) if c.status < 300), None), timeout
        )

    def dms(self) -> dict[int, int]:
        """User id → the bot's DM channel id with them."""
        with self._lock:
            return dict(self._state.dms)

    def commands(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._state.commands)

    def sessions(self) -> list[Session]:
        """Live gateway sessions (identified, connected now)."""
        return list(self.gateway.live())

    def connections(self) -> list[Connection]:
        return list(self.gateway.connections)

    def identifies(self) -> list[Identify]:
        return list(self.gateway.identifies)

    async def until(self, check: Callable[[], T | None], timeout: float = 15.0) -> T:
        """Poll ``check`` (from any event loop) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.key for c in self.calls()][-30:]}")
            await asyncio.sleep(0.02)

    def wait(self, check: Callable[[], T | None], timeout: float = 15.0) -> T:
        """:meth:`until` for synchronous tests."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.key for c in self.calls()][-30:]}")
            time.sleep(0.02)

    # --- the HTTP side -----------------------------------------------------

    def _route_table(self) -> list[tuple[str, str, re.Pattern[str], Handler, bool]]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("POST", "/users/@me/channels", self._open_dm, True),
            ("GET", "/channels/{channel_id}", self._get_channel, True),
            ("GET", "/channels/{channel_id}/messages", self._list_messages, True),
            ("POST", "/channels/{channel_id}/messages", self._create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message, True),
            ("POST", "/channels/{channel_id}/typing", self._typing, True),
            ("POST", "/channels/{channel_id}/threads", self._start_thread, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._start_thread,
                True,
            ),
            ("GET", "/applications/{application_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._put_commands, True),
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._callback,
                False,
            ),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._followup, False),
            (
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._edit_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._delete_webhook_message,
                False,
            ),
        ]
        compiled = []
        for method, template, handler, auth in table:
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            compiled.append((method, template, re.compile(f"^{pattern}$"), handler, auth))
        return compiled

    def _match(self, method: str, path: str) -> tuple[str, dict[str, str], Handler, bool] | None:
        for verb, template, pattern, handler, auth in self._routes:
            found = pattern.match(path)
            if found and verb == method:
                return template, found.groupdict(), handler, auth
        return None

    async def _read_body(self, request: web.Request, call: Call) -> None:
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):  # nested multipart: not Discord's
                    continue
                if part.name == "payload_json":
                    call.body = json.loads(await part.text())
                elif part.filename:
                    call.files.append(part.filename)
                    call.uploads.append(
                        (
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(await part.read()),
                        )
                    )
            return
        raw = await request.read()
        if raw:
            try:
                call.body = json.loads(raw)
            except ValueError:
                raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        found = self._match(request.method, path)
        template, params, handler, auth = found or (path, {}, None, False)
        call = Call(request.method, template, request.path, params, dict(request.query), None)
        with self._lock:
            self._state.calls.append(call)
        try:
            if handler is None:
                raise ApiError(404, 0, "404: Not Found")
            if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            await self._read_body(request, call)
            faulty = await self._faulty(request, call.key)
            if faulty is not None:
                dropped = request.transport is None or request.transport.is_closing()
                call.status = 0 if dropped else faulty.status
                return faulty
            major = params.get("channel_id") or params.get("webhook_token") or ""
            headers, wait = self._bucket_headers(call.key, major)
            if wait is not None:
                call.status = 429
                return rate_limited(call.key, wait, limit=self._bucket_limit(call.key))
            result = await handler(call)
        except ApiError as exc:
            call.status = exc.status
            return error_response(exc)
        if result is None:
            call.status = 204
            return web.Response(status=204, headers=headers)
        call.status = 200
        return json_response(result, headers=headers)

    async def _cdn(self, request: web.Request) -> web.Response:
        with self._lock:
            found = self._state.files.get("attachments/" + request.match_info["path"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        content_type, content = found
        return web.Response(body=content, content_type=content_type)
