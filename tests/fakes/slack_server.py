"""A fake Slack on loopback: Web API, Socket Mode, HTTP-mode delivery, ``response_url``, files.

It runs in its own thread with its own event loop, so a sync test, an async
test (any loop), an in-process gateway and a ``facio up`` subprocess can
all use it:

    with FakeSlack() as slack:
        alice = slack.add_user("alice")
        general = slack.add_channel("general", members=[alice])
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        said = slack.say(alice, general, f"<@{slack.bot_user_id}> hello")  # message + app_mention
        await slack.until(lambda: slack.sent(general.id, thread_ts=said.ts))
        slack.click(alice, general, card_ts, "approve")   # block_actions, with a response_url
        slack.fail("chat.update", 429, retry_after=1)     # the next chat.update is rate limited

Parts, one concern each: the workspace (:mod:`~tests.fakes.slack_workspace`),
the Web API's auth and info methods (:mod:`~tests.fakes.slack_api`), the
chat methods and ``response_url`` (:mod:`~tests.fakes.slack_chat`), Block
Kit checks (:mod:`~tests.fakes.slack_blocks`), faults
(:mod:`~tests.fakes.slack_faults`), people's actions
(:mod:`~tests.fakes.slack_people`), delivery and retries
(:mod:`~tests.fakes.slack_delivery`), Socket Mode
(:mod:`~tests.fakes.slack_socket`), signed HTTP requests
(:mod:`~tests.fakes.slack_http`), payload builders
(:mod:`~tests.fakes.slack_payloads`).

Routes: ``/api/<method>`` (slack_sdk's ``base_url`` is :attr:`FakeSlack.api_url`),
``/link/?ticket=…`` (Socket Mode), ``/response/<id>`` (``response_url``),
``/files-pri/<team>-<file>/[download/]<name>`` (``url_private[_download]``,
bot token as Bearer; without it Slack's sign-in page, HTML, after a redirect).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.slack_api import SPECS, ApiError, WebApi, read_params
from tests.fakes.slack_chat import ChatMethods
from tests.fakes.slack_delivery import SLACK_RETRY_DELAYS, Deliveries
from tests.fakes.slack_faults import Faults
from tests.fakes.slack_people import DEFAULT_SUBSCRIPTIONS, People
from tests.fakes.slack_socket import SocketMode
from tests.fakes.slack_workspace import (
    APP_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    DEFAULT_SCOPES,
    SIGNING_SECRET,
    TEAM_ID,
    Call,
    Channel,
    Ephemeral,
    Message,
    State,
    Timestamps,
    User,
    Version,
    new_id,
)

__all__ = ["FakeSlack"]

T = TypeVar("T")
_SIGNIN = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"


class FakeSlack(WebApi, ChatMethods, People, Faults, Deliveries, SocketMode):
    """The fake Slack (see the module docstring)."""

    def __init__(
        self,
        *,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        subscriptions: Iterable[str] = DEFAULT_SUBSCRIPTIONS,
        echo_bot_messages: bool = True,
        ack_timeout: float = 3.0,
        retry_delays: tuple[float, ...] = SLACK_RETRY_DELAYS,
    ) -> None:
        Deliveries.__init__(self, ack_timeout=ack_timeout, retry_delays=retry_delays)
        SocketMode.__init__(self)
        self.bot_token, self.app_token, self.signing_secret = BOT_TOKEN, APP_TOKEN, SIGNING_SECRET
        self.team_id, self.app_id = TEAM_ID, APP_ID
        self.bot_user_id, self.bot_id = BOT_USER_ID, BOT_ID
        self.scopes = tuple(scopes)
        self.subscriptions = frozenset(subscriptions)
        self.echo_bot_messages = echo_bot_messages
        self.timestamps = Timestamps()
        self._lock = threading.Lock()
        self._state = State()
        self.bot = User(BOT_USER_ID, "facio", "Facio", is_bot=True, bot_id=BOT_ID)
        self._state.users[self.bot.id] = self.bot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:  # type: ignore[override]
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """slack_sdk's ``base_url`` (and facio's ``apiBase``): ends in ``/api/``."""
        return f"{self.url}/api/"

    def start(self) -> FakeSlack:
        self._thread = threading.Thread(target=self._serve, name="fake-slack", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Slack server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._opened = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self._socket)
        app.router.add_post("/response/{id}", self._response)
        app.router.add_get("/files-pri/{file}/{name}", self._download)
        app.router.add_get("/files-pri/{file}/download/{name}", self._download)
        app.router.add_get("/signin", self._signin)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        for connection in self.connections():
            await self._closed(connection)
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await runner.cleanup()

    # --- the workspace -----------------------------------------------------

    def add_user(
        self, name: str, *, user_id: str | None = None, real_name: str = "", is_bot: bool = False
    ) -> User:
        """A person (or another bot) of the workspace."""
        user = User(user_id or new_id("U"), name, real_name or name.title(), is_bot=is_bot)
        with self._lock:
            self._state.users[user.id] = user
        return user

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        members: Iterable[User] = (),
        private: bool = False,
        bot_member: bool = True,
    ) -> Channel:
        """A channel (``private``: a private one) with ``members``; the bot is in it unless told."""
        ids = {m.id for m in members} | ({BOT_USER_ID} if bot_member else set())
        default = new_id("G" if private else "C")
        channel = Channel(channel_id or default, name, "group" if private else "channel", ids)
        with self._lock:
            self._state.channels[channel.id] = channel
            self._state.messages.setdefault(channel.id, {})
        return channel

    def dm(self, user: User) -> Channel:
        """The DM between ``user`` and the bot (``D…``, ``channel_type: im``)."""
        with self._lock:
            return self._im_with(user.id)

    def join(self, channel: Channel, user: User) -> None:
        with self._lock:
            channel.members.add(user.id)

    def leave(self, channel: Channel, user: User) -> None:
        with self._lock:
            channel.members.discard(user.id)

    # --- what a person would see -------------------------------------------

    def messages(
        self, channel: str, thread_ts: str | None = None, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Everyone's messages in ``channel`` as they read now, oldest first: the top level
        (``thread_ts=None``, thread parents included) or one thread (parent first)."""
        with self._lock:
            found = [
                m.wire()
                for m in self._state.messages.get(channel, {}).values()
                if (include_deleted or not m.deleted)
                and (
                    (m.thread_ts in (None, m.ts))
                    if thread_ts is None
                    else (m.thread_ts == thread_ts or m.ts == thread_ts)
                )
            ]
        return sorted(found, key=lambda m: m["ts"])

    def sent(
        self, channel: str | None = None, thread_ts: str | None = None
    ) -> list[dict[str, Any]]:
        """The bot's messages as they read now (deleted ones gone), oldest first; with
        ``thread_ts``, those in that thread only."""
        with self._lock:
            channels = [channel] if channel is not None else list(self._state.messages)
            found = [
                dict(m.wire(), channel=c)
                for c in channels
                for m in self._state.messages.get(c, {}).values()
                if m.bot_id == BOT_ID
                and not m.deleted
                and (thread_ts is None or m.thread_ts == thread_ts)
            ]
        return sorted(found, key=lambda m: m["ts"])

    def message(self, channel: str, ts: str) -> Message:
        """The stored message, with its :attr:`~Message.versions` (treat it as read-only)."""
        with self._lock:
            return self._state.messages[channel][ts]

    def versions(self, channel: str, ts: str) -> list[Version]:
        """Every state the message had, oldest first."""
        with self._lock:
            return list(self._state.messages[channel][ts].versions)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        with self._lock:
            return [
                e
                for e in self._state.ephemerals
                if channel in (None, e.channel) and user in (None, e.user)
            ]

    def reactions(self, channel: str, ts: str) -> dict[str, list[str]]:
        with self._lock:
            found = self._state.messages[channel][ts].reactions
            return {name: list(users) for name, users in found.items()}

    def statuses(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Parameters of each accepted ``assistant.threads.setStatus``, oldest first."""
        with self._lock:
            return [dict(s) for s in self._state.statuses if channel in (None, s["channel_id"])]

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    async def until(self, check: Callable[[], T], timeout: float = 15.0) -> T:
        """Poll ``check`` (from any event loop) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {self._recent()}")
            await asyncio.sleep(0.01)

    def wait(self, check: Callable[[], T], timeout: float = 15.0) -> T:
        """:meth:`until` for synchronous tests."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {self._recent()}")
            time.sleep(0.01)

    def _recent(self) -> list[str]:
        return [f"{c.method}:{c.error or c.status}" for c in self.calls()][-30:]

    # --- the server --------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = Call(method, {}, time.perf_counter())
        with self._lock:
            self._state.calls.append(call)
        try:
            params, is_json = await read_params(request)
            header = request.headers.get("Authorization", "")
            token = header[7:] if header.startswith("Bearer ") else None
            form_token = None if is_json else params.pop("token", None)
            call.params, call.token = params, token or form_token
            faulty = await self._faulty(method, request)
            if faulty is not None:
                call.status = faulty.status
                return faulty
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if method not in SPECS or handler is None:
                raise ApiError("unknown_method")
            self._authorize(call.token, SPECS[method])
            self._throttle(method)
            result = await handler(params)
            if await self._lose_answer(method, request):
                call.status = 0
                return web.Response(status=500)  # never reaches the client
        except ApiError as exc:
            call.status, call.error = exc.status, exc.error
            headers = self._headers(call.token, method)
            if exc.retry_after is not None:
                headers["Retry-After"] = str(exc.retry_after)
            body = {"ok": False, "error": exc.error, **exc.extra}
            return web.json_response(body, status=exc.status, headers=headers)
        return web.json_response({"ok": True, **result}, headers=self._headers(call.token, method))

    async def _response(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        status, text = self.respond(request.match_info["id"], body)
        return web.Response(status=status, text=text)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            raise web.HTTPFound(f"/signin?redir={request.path}")
        file_id = request.match_info["file"].removeprefix(f"{TEAM_ID}-")
        with self._lock:
            found = self._state.files.get(file_id)
            delay = self._state.file_delay
        if found is None or found.name != request.match_info["name"]:
            return web.Response(status=404, text="file_not_found")
        await asyncio.sleep(delay)
        if found.content is not None:
            return web.Response(body=found.content, content_type=found.mimetype)
        reply = web.StreamResponse(headers={"Content-Type": found.mimetype})
        reply.content_length = found.size
        await reply.prepare(request)
        left, chunk = found.size, bytes(64 * 1024)
        while left > 0:
            await reply.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        await reply.write_eof()
        return reply

    async def _signin(self, request: web.Request) -> web.Response:
        return web.Response(body=_SIGNIN, content_type="text/html")
