"""``/new``, ``/stop``, ``/help`` (and Telegram's ``/start``).

A command is a message that starts with a ``bot_command`` entity. In groups,
``/new@otherbot`` is for another bot and ignored; a bare ``/new`` is ours.
Commands that are not ours to run (``/weather``) go to the agent as text.

``/new`` is queued like a message (:func:`workers.inbox.submit` with
``command="reset"``), so it never cuts into a running turn; ``/stop``
cancels the running or parked turn (:func:`workers.inbox.request_stop`) —
the chat then shows "⏹ Stopped." from the turn's end event.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import Message, User

from channels.runtime import RuntimeClient
from core.inbound import Inbound

__all__ = ["COMMANDS", "Command", "help_text", "parse_command", "run_command"]

COMMANDS = frozenset({"start", "help", "new", "stop"})
NOTHING_TO_STOP = "Nothing is running."


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    """Lower-case, without the slash or the ``@bot`` part."""
    args: str
    mine: bool
    """False when addressed to another bot (``/new@otherbot``)."""


def parse_command(message: Message, me: User | None) -> Command | None:
    """The command a message starts with, if it does."""
    text = message.text or ""
    entity = next(
        (e for e in message.entities or [] if e.type == "bot_command" and e.offset == 0), None
    )
    if not text.startswith("/") or entity is None:
        return None
    # the entity says where the command ends ("/stop\nplease" is /stop); a command is ASCII,
    # so its UTF-16 length is its length in characters
    word, args = text[: entity.length], text[entity.length :]
    name, _, addressee = word[1:].partition("@")
    mine = not addressee or (
        me is not None and bool(me.username) and addressee.lower() == str(me.username).lower()
    )
    return Command(name.lower(), args.strip(), mine)


def help_text(user_id: str, me: User | None) -> str:
    bot = f"@{me.username}" if me is not None and me.username else "this bot"
    return (
        f"I'm {bot}, an AI assistant. Write to me and I answer; when I want to run a tool "
        "that needs your consent, I ask with buttons: Approve, Reject, Allow for session "
        "or Always allow.\n\n"
        "/new: start a new conversation\n"
        "/stop: stop what I'm doing\n"
        "/help: this message\n\n"
        f"In groups, mention me or reply to me. Your Telegram user id is {user_id}."
    )


async def run_command(
    command: Command, inbound: Inbound, runtime: RuntimeClient, me: User | None
) -> str | None:
    """Run a command of :data:`COMMANDS`; the text to reply with, if any."""
    if command.name == "new":
        await runtime.submit(inbound, command="reset")
        return None  # the worker's session_reset event says it
    if command.name == "stop":
        if not await runtime.busy(inbound.session_key):
            return NOTHING_TO_STOP
        await runtime.stop(inbound.session_key)
        return None  # turn_finished (cancelled) says it
    return help_text(inbound.user_id, me)
