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
descriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

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
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "message_thread_id"}
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    """``time.perf_counter()`` when the request arrived."""
    status: int = 200


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update: int = 1
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_message: int = 1
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    callbacks: dict[str, bool] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    webhook_replies: list[int] = field(default_factory=list)
    poll_generation: int = 0


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _check_entities(text: str, entities: list[dict[str, Any]]) -> None:
    size = _units(text)
    encoded = text.encode("utf-16-le")
    for entity in entities:
        start, length = int(entity["offset"]), int(entity["length"])
        if start < 0 or length <= 0 or start + length > size:
            raise ApiError(
                400,
                "Bad Request: can't parse entities: entity beginning at UTF-16 offset "
                f"{start} ends after the end of the text at UTF-16 offset {size}",
            )
        for unit in (start, start + length):
            if (
                unit < size
                and 0xDC00 <= int.from_bytes(encoded[2 * unit : 2 * unit + 2], "little") <= 0xDFFF
            ):
                raise ApiError(400, "Bad Request: can't parse entities: entity splits a character")


def _check_markup(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class FakeTelegram:
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
        self._state = _State()
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

    def fail(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail like Telegram would."""
        if not description:
            description = {
                401: "Unauthorized",
                409: "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
                429: f"Too Many Requests: retry after {retry_after}",
            }.get(status, "Bad Request: can't parse entities: unsupported start tag")
        with self._lock:
            self._state.failures.setdefault(method, []).append(
                _Failure(status, description, retry_after, times)
            )

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

    def set_webhook(self, url: str, secret: str | None) -> None:
        with self._lock:
            self._state.webhook = {"url": url, "secret_token": secret}

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

    async def _notify(self) -> None:
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()

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
            self._scripted_failure(method)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(call.params)
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

    def _scripted_failure(self, method: str) -> None:
        with self._lock:
            queue = self._state.failures.get(method)
            if not queue:
                return
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        raise ApiError(failure.status, failure.description, failure.retry_after)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        with self._lock:
            for path, content in self._state.files.values():
                if path == request.match_info["path"]:
                    return web.Response(body=content)
        return web.Response(status=404)

    # --- methods -----------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self.me

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        assert self._arrived is not None
        offset = params.get("offset")
        timeout = float(params.get("timeout") or 0)
        with self._lock:
            if self._state.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._state.poll_generation += 1
            generation = self._state.poll_generation
            if offset is not None:
                self._state.updates = [
                    u for u in self._state.updates if u.get("update_id", offset) >= offset
                ]
        await self._notify()  # an older poll that waits ends with 409
        deadline = time.monotonic() + timeout
        async with self._arrived:
            while True:
                with self._lock:
                    if self._state.poll_generation != generation:
                        raise ApiError(
                            409,
                            "Conflict: terminated by other getUpdates request; "
                            "make sure that only one bot instance is running",
                        )
                    ready = list(self._state.updates[: int(params.get("limit") or 100)])
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or (self._stop is not None and self._stop.is_set()):
                    return ready
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.set_webhook(str(params["url"]), params.get("secret_token"))
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._state.webhook = None
        return True

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Someone"}
        return {"id": chat_id, "type": "supergroup", "title": "Team"}

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _units(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        _check_entities(text, params.get("entities") or [])
        _check_markup(params.get("reply_markup"))
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._state.next_message,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": self.me,
                "text": text,
            }
            self._state.next_message += 1
            if params.get("entities"):
                message["entities"] = params["entities"]
            if params.get("reply_markup", {}).get("inline_keyboard"):
                message["reply_markup"] = params["reply_markup"]
            if params.get("message_thread_id"):
                message["message_thread_id"] = params["message_thread_id"]
                message["is_topic_message"] = True
            if params.get("reply_parameters"):
                message["reply_to"] = params["reply_parameters"].get("message_id")
            self._state.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return {k: v for k, v in message.items() if k != "reply_to"}

    def _stored(self, params: dict[str, Any], verb: str) -> dict[str, Any]:
        stored = self._state.messages.get(int(params["chat_id"]), {}).get(int(params["message_id"]))
        if stored is None:
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return stored

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _units(text) > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        _check_entities(text, params.get("entities") or [])
        markup = params.get("reply_markup") or {}
        _check_markup(markup)
        with self._lock:
            stored = self._stored(params, "edit")
            new = {
                "text": text,
                "entities": params.get("entities") or [],
                "reply_markup": markup if markup.get("inline_keyboard") else None,
            }
            old = {k: stored.get(k) or ([] if k == "entities" else None) for k in new}
            if new == old:
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            stored.update({k: v for k, v in new.items() if v})
            for k in ("entities", "reply_markup"):
                if not new[k]:
                    stored.pop(k, None)
            stored["edit_date"] = int(time.time())
            return {k: v for k, v in stored.items() if k != "reply_to"}

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        markup = params.get("reply_markup") or {}
        with self._lock:
            stored = self._stored(params, "edit")
            if (stored.get("reply_markup") or None) == (
                markup if markup.get("inline_keyboard") else None
            ):
                raise ApiError(400, "Bad Request: message is not modified")
            if markup.get("inline_keyboard"):
                stored["reply_markup"] = markup
            else:
                stored.pop("reply_markup", None)
            return {k: v for k, v in stored.items() if k != "reply_to"}

    async def _m_deleteMessage(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._stored(params, "delete")
            del self._state.messages[int(params["chat_id"])][int(params["message_id"])]
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        if params.get("action") not in {"typing", "upload_document", "upload_photo"}:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        with self._lock:
            answered = self._state.callbacks.get(str(params.get("callback_query_id")))
            if answered is None or answered:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is "
                    "invalid",
                )
            self._state.callbacks[str(params["callback_query_id"])] = True
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        with self._lock:
            found = self._state.files.get(str(params.get("file_id")))
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = found
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"u-{params['file_id']}",
            "file_size": len(content),
            "file_path": path,
        }
