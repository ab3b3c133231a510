"""Calling the Bot API: flood control, a few retries, the plain-text fallback.

aiogram raises ``TelegramRetryAfter`` on a 429 and does not retry; here the
call sleeps ``retry_after`` and tries again (the whole wait of one call is
capped, so a chat under a long flood ban does not hold its lane for hours;
a click's answer, valid only for seconds, gets a much shorter cap).
Unusable answers — network and server errors, a body that is not the Bot
API's JSON — get a few quick retries, except where a retry could post twice:
a new message (``sendMessage``) whose answer was lost after the request went
out (a timeout, a dropped connection) may be in the chat, and the Bot API
cannot read a chat back to tell, so it is not sent again
(:class:`~channels.telegram.errors.TelegramMaybeSent`; edits and deletes are
idempotent and are retried). Everything else is a
:class:`~channels.telegram.errors.RequestRefused`, logged by the caller with
the chat, never retried.

Formatting: text goes with entities; if Telegram refuses them
(:class:`~channels.telegram.errors.FormattingRefused`), it is sent once more
as plain text — the message is never lost over formatting. Other 400s
("chat not found", "message to edit not found") are not formatting: no
second try.

Edits: an edit identical to the last one this gateway made to (or sent as)
that message is skipped, and Telegram's "message is not modified" counts as
done — the message shows what was asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    SendChatAction,
    SendMessage,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from channels.telegram.errors import (
    CALL_FAILURES,
    FormattingRefused,
    NotModified,
    TelegramMaybeSent,
    TelegramUnreachable,
    map_error,
    maybe_sent,
)
from channels.telegram.formatted import Formatted

__all__ = ["ANSWER_FLOOD_WAIT", "ATTEMPTS", "MAX_FLOOD_WAIT", "ChatTarget", "Sender"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_FLOOD_WAIT = 300.0
"""Seconds of 429 waits one call may spend before it gives up."""
ANSWER_FLOOD_WAIT = 5.0
"""The same for a click's answer: Telegram takes it only for a few seconds after the click."""
ATTEMPTS = 3
"""Tries of a call that meets network or server errors."""
REMEMBERED = 4096
"""Messages whose last text (and buttons) the sender remembers, to skip identical edits."""
NO_BUTTONS = InlineKeyboardMarkup(inline_keyboard=[])


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """Where a message goes: a chat, maybe a forum topic, maybe as a reply."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None
    """The person's message to reply to (groups, so it is clear whom the bot answers)."""

    def __str__(self) -> str:
        return f"chat {self.chat_id}" + (f" topic {self.thread_id}" if self.thread_id else "")


def _shows(text: Formatted, markup: InlineKeyboardMarkup | None) -> str:
    """What a message shows: its text, entities and buttons (no buttons = none at all)."""
    buttons = markup.model_dump_json() if markup is not None and markup.inline_keyboard else ""
    return f"{text.key()}|{buttons}"


class Sender:
    """The channel's way to call Telegram (see the module docstring)."""

    def __init__(
        self,
        bot: Bot,
        *,
        max_flood_wait: float = MAX_FLOOD_WAIT,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.max_flood_wait = max_flood_wait
        self.attempts = attempts
        self._sleep = sleep
        self._shown: OrderedDict[tuple[int, int], str] = OrderedDict()
        self.flood_waits = 0
        """429s waited out so far (tests, metrics)."""

    async def call(
        self, method: TelegramMethod[T], where: str, *, max_flood_wait: float | None = None
    ) -> T:
        """Run ``method``; wait out 429s (up to ``max_flood_wait`` s in all), retry
        unusable answers, map the rest."""
        what = f"{method.__api_method__} in {where}"
        cap = self.max_flood_wait if max_flood_wait is None else max_flood_wait
        waited = 0.0
        failures = 0
        while True:
            try:
                return await self.bot(method)
            except TelegramRetryAfter as exc:
                if waited + exc.retry_after > cap:
                    raise TelegramUnreachable(
                        f"{what}: flood control asks for {exc.retry_after} s more "
                        f"after {waited:.0f} s of waiting; giving up"
                    ) from exc
                logger.info("telegram: flood control on %s; waiting %s s", what, exc.retry_after)
                self.flood_waits += 1
                waited += exc.retry_after
                await self._sleep(exc.retry_after)
            except CALL_FAILURES as exc:
                lost = isinstance(method, SendMessage) and maybe_sent(exc)
                error = map_error(exc, what, self.bot.token)  # (takes the token out of exc)
                if lost:
                    raise TelegramMaybeSent(
                        f"{error}; the answer was lost after sending: not sent again, it "
                        "may be in the chat"
                    ) from exc
                failures += 1
                if not isinstance(error, TelegramUnreachable) or failures >= self.attempts:
                    raise error from exc
                await self._sleep(0.5 * failures)

    async def _formatted(
        self, build: Callable[[Formatted], TelegramMethod[T]], text: Formatted, where: str
    ) -> T:
        try:
            return await self.call(build(text), where)
        except FormattingRefused as exc:
            if not text.entities:
                raise
            logger.warning("telegram: %s; sending it as plain text", exc)
            return await self.call(build(text.plain()), where)

    def _remember(self, chat_id: int, message_id: int, shows: str) -> None:
        self._shown[(chat_id, message_id)] = shows
        self._shown.move_to_end((chat_id, message_id))
        while len(self._shown) > REMEMBERED:
            self._shown.popitem(last=False)

    async def send(
        self,
        target: ChatTarget,
        text: Formatted,
        *,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        """Send ``text`` (at most one message long) to ``target``; the sent message."""
        reply = (
            ReplyParameters(message_id=target.reply_to, allow_sending_without_reply=True)
            if target.reply_to
            else None
        )

        def build(body: Formatted) -> SendMessage:
            return SendMessage(
                chat_id=target.chat_id,
                message_thread_id=target.thread_id,
                text=body.text,
                entities=body.api_entities(),
                parse_mode=None,
                reply_parameters=reply,
                reply_markup=markup,
            )

        sent = await self._formatted(build, text, str(target))
        self._remember(target.chat_id, sent.message_id, _shows(text, markup))
        return sent

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        text: Formatted,
        *,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Replace a message's text (and buttons: ``None`` removes them); an edit that
        would change nothing is not sent."""
        shows = _shows(text, markup)
        if self._shown.get((chat_id, message_id)) == shows:
            return

        def build(body: Formatted) -> EditMessageText:
            return EditMessageText(
                chat_id=chat_id,
                message_id=message_id,
                text=body.text,
                entities=body.api_entities(),
                parse_mode=None,
                reply_markup=markup or NO_BUTTONS,
            )

        try:
            await self._formatted(build, text, f"chat {chat_id}")
        except NotModified:
            logger.debug("telegram: message %s in chat %s already shows it", message_id, chat_id)
        self._remember(chat_id, message_id, shows)

    async def remove_buttons(self, chat_id: int, message_id: int) -> None:
        method = EditMessageReplyMarkup(
            chat_id=chat_id, message_id=message_id, reply_markup=NO_BUTTONS
        )
        self._shown.pop((chat_id, message_id), None)
        try:
            await self.call(method, f"chat {chat_id}")
        except NotModified:
            return  # it has none

    async def delete(self, chat_id: int, message_id: int) -> None:
        self._shown.pop((chat_id, message_id), None)
        await self.call(DeleteMessage(chat_id=chat_id, message_id=message_id), f"chat {chat_id}")

    async def answer(self, callback_id: str, text: str, *, alert: bool = False) -> None:
        """Answer a button click (ends the client's spinner), showing ``text``; a flood
        wait longer than :data:`ANSWER_FLOOD_WAIT` is not waited out (the answer would
        come too late for Telegram anyway)."""
        method = AnswerCallbackQuery(callback_query_id=callback_id, text=text, show_alert=alert)
        await self.call(method, "callback query", max_flood_wait=ANSWER_FLOOD_WAIT)

    async def typing(self, target: ChatTarget) -> bool:
        """One "typing…" beat; never retried or waited for (the next beat is 4 s away)."""
        method = SendChatAction(
            chat_id=target.chat_id, message_thread_id=target.thread_id, action="typing"
        )
        try:
            await self.bot(method)
        except CALL_FAILURES as exc:
            error = map_error(exc, f"sendChatAction in {target}", self.bot.token)
            logger.debug("telegram: %s", error)
            return False
        return True
