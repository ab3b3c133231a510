"""Discord as a :class:`~channels.chat.platform.ChatPlatform`: the chat layer's words as REST calls.

Targets are channels by id (a DM, a guild channel, a thread: each is a
channel), and in guilds the person's message to reply to. Text is
:class:`~channels.discord.text.DiscordText`, Markdown as Discord renders it,
split at 2,000 characters. Calls go through the
:class:`~channels.discord.send.Sender` (nonces, retries, the error mapping).
"""

from __future__ import annotations

from collections.abc import Sequence

from channels.chat.cards import CardView
from channels.chat.platform import Button, Limits, MessageRef, Target
from channels.discord.cards import ARGS_BUDGET, draw_card, view_of
from channels.discord.send import Sender
from channels.discord.text import (
    MESSAGE_LIMIT,
    DiscordText,
    markdown_parts,
    plain_parts,
    quoted_part,
)
from channels.discord.translate import CHANNEL
from core import wire

__all__ = ["GROUP_INTERVAL", "TYPING_EVERY", "DiscordPlatform", "target_of"]

GROUP_INTERVAL = 1.5
"""Seconds between edits in a guild channel, at least (5 edits per 5 s per channel)."""
TYPING_EVERY = 8.0
"""Discord shows "is typing…" for about ten seconds, or until the bot's message comes."""


def _digits(value: str) -> str:
    if not value.isdigit():
        raise ValueError(value)
    return value


def target_of(event: wire.Envelope) -> Target | None:
    """Where an event goes: its ``reply_to``, else its session key (scheduled turns)."""
    where = event.reply_to
    try:
        if where.get("channel_id"):
            chat = _digits(where["channel_id"])
            thread = _digits(where["thread_id"]) if where.get("thread_id") else ""
            reply = _digits(where["message_id"]) if where.get("message_id") else ""
            return Target(chat, thread, reply, bool(where.get("guild_id")))
        parts = event.session_key.split(":")
        if parts[0] != CHANNEL:
            return None
        if len(parts) == 3 and parts[1] == "dm":
            return Target(_digits(parts[2]))
        if len(parts) == 3:
            _digits(parts[1])
            return Target(_digits(parts[2]), group=True)
        if len(parts) == 5 and parts[3] == "thread":
            thread = _digits(parts[4])
            return Target(thread, thread, group=True)
    except ValueError:
        return None
    return None


class DiscordPlatform:
    """The chat layer's calls, made with discord.py (see the module docstring)."""

    name = CHANNEL
    title = "Discord"

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
        return len(text)

    def markdown(self, text: str) -> list[DiscordText]:
        return markdown_parts(text)

    def plain(self, text: str) -> list[DiscordText]:
        return plain_parts(text)

    def quoted(self, text: str) -> DiscordText:
        return quoted_part(text)

    def card(self, view: CardView) -> DiscordText:
        return draw_card(view, self.limits.card_arguments)

    async def send(
        self, target: Target, part: DiscordText, *, buttons: Sequence[Sequence[Button]] = ()
    ) -> MessageRef:
        view = view_of(buttons) if buttons else None
        reply = int(target.reply_to) if target.reply_to else None
        sent = await self.sender.send(int(target.chat), part, reply_to=reply, view=view)
        return MessageRef(target.chat, str(sent.id))

    async def edit(self, ref: MessageRef, part: DiscordText) -> None:
        await self.sender.edit(int(ref.chat), int(ref.id), part)

    async def delete(self, ref: MessageRef) -> None:
        await self.sender.delete(int(ref.chat), int(ref.id))

    async def strip_buttons(self, ref: MessageRef) -> None:
        await self.sender.remove_buttons(int(ref.chat), int(ref.id))

    async def typing(self, target: Target) -> None:
        await self.sender.typing(int(target.chat))

    async def done_typing(self, target: Target) -> None:
        return None  # "is typing…" ends with the bot's next message, or by itself
