"""The Bot API methods of the fake Telegram server, and their checks.

Each ``_m_<method>`` takes the decoded parameters and returns the ``result``
of a successful answer, or raises :class:`ApiError` with Telegram's status
and description. :class:`~tests.fakes.telegram_server.FakeTelegram` adds the
HTTP side, the lifecycle and what tests call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "BotApiMethods", "Call", "State"]


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
class State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update: int = 1
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_message: int = 1
    failures: dict[str, list[Any]] = field(default_factory=dict)
    """Scripted faults per method (:class:`tests.fakes.telegram_faults.Failure`)."""
    callbacks: dict[str, bool] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    webhook_replies: list[int] = field(default_factory=list)
    poll_generation: int = 0
    file_delay: float = 0.0
    lost_answers: dict[str, int] = field(default_factory=dict)
    """Calls per method to carry out and then hang up on, unanswered."""


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_entities(text: str, entities: list[dict[str, Any]]) -> None:
    size = units(text)
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


def check_markup(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


class BotApiMethods:
    """The methods; the state they share is set up by the server."""

    me: dict[str, Any]
    _lock: threading.Lock
    _state: State
    _arrived: asyncio.Condition | None
    _stop: asyncio.Event | None

    def set_webhook(self, url: str, secret: str | None) -> None:
        with self._lock:
            self._state.webhook = {"url": url, "secret_token": secret}

    async def _notify(self) -> None:
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()

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
                self._state.updates = [  # one without an id cannot be confirmed: it stays
                    u
                    for u in self._state.updates
                    if not isinstance(u.get("update_id"), int) or u["update_id"] >= offset
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
        if units(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        check_entities(text, params.get("entities") or [])
        check_markup(params.get("reply_markup"))
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
        if units(text) > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        check_entities(text, params.get("entities") or [])
        markup = params.get("reply_markup") or {}
        check_markup(markup)
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
