"""A fake Telegram Bot API on loopback, speaking the real wire format.

``POST|GET /bot<token>/<method>`` with a query string, form fields
(urlencoded or multipart, nested fields JSON-encoded — as aiogram sends
them) or a JSON body; answers ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": …, "description": "Bad Request: …"}`` (with
``parameters.retry_after`` on 429) exactly like Telegram, so aiogram parses
it unmodified. ``GET /file/bot<token>/<path>`` serves files.

It runs in its own thread with its own event loop, so a test (sync or
async), a ``facio up`` subprocess and an in-process gateway can all use it:

    with FakeTelegram() as tg:
        config = {..., "channels": {"telegram": {"apiBase": tg.url, "token": tg.token}}}
        tg.push(message_update(alice, "hello"))  # getUpdates returns it (or the webhook)
        sent = await tg.until(lambda: tg.sent(chat_id=alice["id"]))
        tg.fail("editMessageText", 429, retry_after=1)   # the next call gets a flood error

Behaviour kept from Telegram: long polling that returns at once when an
update arrives; a second getUpdates ends the first with 409; getUpdates
while a webhook is set is 409; an unknown token is 401; text over 4,096
UTF-16 units, empty text, entities outside the text or splitting a surrogate
pair, callback data over 64 bytes, editing to identical content ("message
is not modified"), answering a callback twice — all 400 with Telegram's
descriptions. Faults beyond Telegram's own errors — an HTML page from a proxy,
a redirect loop, slow downloads — are :mod:`tests.fakes.telegram_faults`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from tests.fakes.telegram_faults import LOOP_PATH, Faults
from tests.fakes.telegram_methods import ApiError, BotApiMethods, Call, State
from tests.fakes.telegram_updates import callback

__all__ = ["BOT_ID", "TOKEN", "Call", "FakeTelegram"]

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-fake-token-abcdefghijklmnopqrstu"
USERNAME = "facio_test_bot"
_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
}
"""Fields Telegram reads as JSON when they come as form fields."""
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "message_thread_id"}
T = TypeVar("T")


class FakeTelegram(BotApiMethods, Faults):
    """The fake Bot API server (see the module docstring)."""

    def __init__(self, token: str = TOKEN, *, username: str = USERNAME) -> None:
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.me = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Facio Test",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._lock = threading.Lock()
        self._state = State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Condition | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTelegram:
        self._thread = threading.Thread(target=self._serve, name="fake-telegram", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Telegram server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._arrived = asyncio.Condition()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        app.router.add_get(LOOP_PATH, self._loop_forever)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        async with self._arrived:
            self._arrived.notify_all()
        await runner.cleanup()

    # --- what tests use ----------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update (numbered now); the long poll or the webhook gets it."""
        with self._lock:
            update = {"update_id": self._state.next_update, **update}
            self._state.next_update += 1
            self._state.updates.append(update)
            query = update.get("callback_query")
            if query is not None:
                self._state.callbacks[query["id"]] = False
            webhook = self._state.webhook
        assert self._loop is not None
        if webhook is not None:
            asyncio.run_coroutine_threadsafe(self._deliver(update, webhook), self._loop)
        else:
            asyncio.run_coroutine_threadsafe(self._notify(), self._loop)
        return int(update["update_id"])

    def click(self, person: dict[str, Any], chat_id: int, message_id: int, data: str) -> int:
        """Push a click on a message the bot sent."""
        return self.push(callback(person, self.message(chat_id, message_id), data))

    def add_file(self, file_id: str, content: bytes, path: str = "documents/file.bin") -> None:
        with self._lock:
            self._state.files[file_id] = (path, content)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's messages as they look now (edits applied), oldest first."""
        with self._lock:
            chats = [chat_id] if chat_id is not None else list(self._state.messages)
            found = [
                dict(m)
                for c in chats
                for m in self._state.messages.get(c, {}).values()
                if m.get("from", {}).get("id") == self.bot_id
            ]
        return sorted(found, key=lambda m: m["message_id"])

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._state.messages[chat_id][message_id])

    def answers(self) -> list[dict[str, Any]]:
        """Parameters of every answerCallbackQuery, oldest first."""
        return [c.params for c in self.calls("answerCallbackQuery")]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._state.updates)

    @property
    def webhook(self) -> dict[str, Any] | None:
        with self._lock:
            return dict(self._state.webhook) if self._state.webhook else None

    @property
    def webhook_replies(self) -> list[int]:
        with self._lock:
            return list(self._state.webhook_replies)

    async def until(self, check: Callable[[], T], timeout: float = 15.0) -> T:
        """Poll ``check`` (from any event loop) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.method for c in self.calls()][-30:]}")
            await asyncio.sleep(0.02)

    def wait(self, check: Callable[[], T], timeout: float = 15.0) -> T:
        """:meth:`until` for synchronous tests."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[c.method for c in self.calls()][-30:]}")
            time.sleep(0.02)

    # --- the server --------------------------------------------------------

    async def _deliver(self, update: dict[str, Any], webhook: dict[str, Any]) -> None:
        headers = {}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        with self._lock:
            self._state.updates.remove(update)
        try:
            async with (
                aiohttp.ClientSession() as client,
                client.post(webhook["url"], json=update, headers=headers) as reply,
            ):
                status = reply.status
        except aiohttp.ClientError:
            status = 0
        with self._lock:
            self._state.webhook_replies.append(status)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.method == "POST" and request.can_read_body:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in _JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        for key in _INT_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = int(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, {}, time.perf_counter())
        with self._lock:
            self._state.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            call.params = await self._params(request)
            faulty = self._faulty(method)
            if faulty is not None:
                call.status = faulty.status
                return faulty
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(call.params)
            if self._answer_lost(method):
                assert request.transport is not None
                request.transport.abort()  # done, and no answer reaches the client
                return web.Response(status=500)
        except ApiError as exc:
            call.status = exc.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.status,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.status)
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        with self._lock:
            delay = self._state.file_delay
        await asyncio.sleep(delay)
        with self._lock:
            for path, content in self._state.files.values():
                if path == request.match_info["path"]:
                    return web.Response(body=content)
        return web.Response(status=404)
