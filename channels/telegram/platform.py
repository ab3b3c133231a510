"""Telegram as a :class:`~channels.chat.platform.ChatPlatform`: the translation of the chat
layer's words into Bot API calls.

Targets are chats (ids as text), forum topics (``message_thread_id``) and, in
groups, the message answered; groups are chats with negative ids. Text is
:class:`~channels.telegram.formatted.Formatted` (plain text plus entities),
split at 4,096 UTF-16 units (:mod:`.split`). Calls go through the
:class:`~channels.telegram.send.Sender` (flood waits, the plain-text fallback).
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.chat.cards import CardView
from channels.chat.platform import Button, Limits, MessageRef, Target
from channels.telegram.cards import ARGS_BUDGET, draw_card, keyboard
from channels.telegram.formatted import MESSAGE_LIMIT, Formatted, TextBuilder, utf16_len
from channels.telegram.markdown import render_markdown
from channels.telegram.send import ChatTarget, Sender
from channels.telegram.split import split_message
from core import wire

__all__ = ["CHANNEL", "GROUP_INTERVAL", "TYPING_EVERY", "TelegramPlatform", "target_of"]

CHANNEL = "telegram"
GROUP_INTERVAL = 3.0
"""Seconds between edits in a group chat, at least (about 20 messages a minute per group)."""
TYPING_EVERY = 4.0
"""Telegram shows "typing…" for about five seconds."""


def target_of(event: wire.Envelope) -> Target | None:
    """The chat an event goes to: its ``reply_to``, else its session key (cron turns)."""
    where = event.reply_to
    try:
        if where.get("chat_id"):
            chat = int(where["chat_id"])
            thread, reply = where.get("thread_id"), where.get("message_id")
            return Target(
                str(chat),
                str(int(thread)) if thread else "",
                str(int(reply)) if reply else "",
                chat < 0,
            )
        parts = event.session_key.split(":")
        if parts[0] != CHANNEL or len(parts) not in (2, 4):
            return None
        chat = int(parts[1])
        thread_id = int(parts[3]) if len(parts) == 4 and parts[2] == "topic" else None
        return Target(str(chat), str(thread_id) if thread_id else "", "", chat < 0)
    except ValueError:
        return None


def chat_target(target: Target) -> ChatTarget:
    """The Bot API's addressing of a target (ids as integers)."""
    return ChatTarget(
        int(target.chat),
        int(target.thread) if target.thread else None,
        int(target.reply_to) if target.reply_to else None,
    )


def _quoted(prefix: str, body: str) -> Formatted:
    out = TextBuilder()
    out.add(prefix)
    start = out.length
    out.add(body)
    out.span("blockquote", start)
    out.span("italic", start)
    return out.build()


class TelegramPlatform:
    """The chat layer's calls, made with the Bot API (see the module docstring)."""

    name = CHANNEL
    title = "Telegram"

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.limits = Limits(
            message=MESSAGE_LIMIT,
            edit_interval=1.0,
            group_edit_interval=GROUP_INTERVAL,
            card_arguments=ARGS_BUDGET,
            typing_every=TYPING_EVERY,
        )

    def target_of(self, event: wire.Envelope) -> Target | None:
        return target_of(event)

    def measure(self, text: str) -> int:
        return utf16_len(text)

    def markdown(self, text: str) -> list[Formatted]:
        return split_message(render_markdown(text))

    def plain(self, text: str) -> list[Formatted]:
        return split_message(Formatted(text))

    def quoted(self, text: str) -> Formatted:
        return split_message(_quoted("💭 ", text))[0]

    def card(self, view: CardView) -> Formatted:
        return draw_card(view, self.limits.card_arguments)

    async def send(
        self, target: Target, part: Formatted, *, buttons: Sequence[Sequence[Button]] = ()
    ) -> MessageRef:
        markup = keyboard(buttons) if buttons else None
        sent = await self.sender.send(chat_target(target), part, markup=markup)
        return MessageRef(target.chat, str(sent.message_id))

    async def edit(self, ref: MessageRef, part: Formatted) -> None:
        await self.sender.edit(int(ref.chat), int(ref.id), part)

    async def delete(self, ref: MessageRef) -> None:
        await self.sender.delete(int(ref.chat), int(ref.id))

    async def strip_buttons(self, ref: MessageRef) -> None:
        await self.sender.remove_buttons(int(ref.chat), int(ref.id))

    async def typing(self, target: Target) -> None:
        await self.sender.typing(chat_target(target))

    async def done_typing(self, target: Target) -> None:
        return None  # "typing…" fades by itself
