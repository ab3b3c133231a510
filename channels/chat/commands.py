"""``/new``, ``/stop``, ``/schedules``, ``/unschedule ID``, ``/help`` (and ``/start``),
on any platform.

The platform says whether a message is a command and for whom
(:class:`Command`: Telegram reads its ``bot_command`` entity and
``/new@otherbot``; elsewhere :func:`parse_text_command` reads the text, since
slash commands do not run in Slack threads). Commands that are not ours to
run (``/weather``) go to the agent as text.

``/new`` is queued like a message (a ``reset`` turn), so it never cuts into
a running turn; ``/stop`` cancels the running or parked turn — the chat then
shows "⏹ Stopped." from the turn's end event. ``/schedules`` lists the
conversation's own schedules and ``/unschedule ID`` cancels one of them (the
texts come from :mod:`workers.schedules.chat`, through the runtime client).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.runtime import RuntimeClient
from core.config import FacioConfig
from core.inbound import Inbound

__all__ = [
    "COMMANDS",
    "MENU",
    "NOTHING_TO_STOP",
    "UNKNOWN_COMMAND",
    "Command",
    "MenuEntry",
    "help_text",
    "parse_text_command",
    "run_command",
]

COMMANDS = frozenset({"start", "help", "new", "stop", "schedules", "unschedule"})
NOTHING_TO_STOP = "Nothing is running."
UNKNOWN_COMMAND = "That command is not one of mine: /help lists them."
"""A platform's command (a menu entry) that is not in :data:`MENU`."""
_TEXT_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@(\S+))?(?=\s|$)")


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A command as people see it listed: in ``/help`` and in a platform's command menu."""

    name: str
    arg: str
    """Its argument's name (``ID``), or ``""``."""
    help: str
    """Its line in ``/help``."""
    menu: str
    """Its description in a command menu (Discord's: 1–100 characters), read out of
    the conversation, so it says more."""


MENU = (
    MenuEntry("new", "", "start a new conversation", "Start a new conversation here"),
    MenuEntry("stop", "", "stop what I'm doing", "Stop what the bot is doing here"),
    MenuEntry(
        "schedules", "", "what I'm set to do later here", "What the bot is set to do later here"
    ),
    MenuEntry(
        "unschedule", "ID", "cancel one of them", "Cancel one of this conversation's schedules"
    ),
    MenuEntry("help", "", "this message", "What the bot does, its commands and your user id"),
)
"""The commands people are shown (``/start`` is Telegram's own greeting)."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    """Lower-case, without the slash or the ``@bot`` part."""
    args: str
    mine: bool = True
    """False when addressed to another bot (``/new@otherbot``)."""


def parse_text_command(text: str, bot_name: str = "") -> Command | None:
    """The command ``text`` starts with (``/stop``, ``/new@facio_bot please``), if any."""
    found = _TEXT_COMMAND.match(text.strip())
    if found is None:
        return None
    name, addressee = found.group(1), found.group(2)
    mine = not addressee or (bool(bot_name) and addressee.lower() == bot_name.lower())
    return Command(name.lower(), text.strip()[found.end() :].strip(), mine)


def help_text(bot: str, platform: str, user_id: str, group_hint: str) -> str:
    """What ``/help`` says: what the bot does, its commands, and the person's id."""
    return (
        f"I'm {bot}, an AI assistant. Write to me and I answer; when I want to run a tool "
        "that needs your consent, I ask with buttons: Approve, Reject, Allow for session "
        "or Always allow.\n\n"
        + "".join(f"/{' '.join(filter(None, (e.name, e.arg)))}: {e.help}\n" for e in MENU)
        + f"\n{group_hint} Your {platform} user id is {user_id}."
    )


async def run_command(
    command: Command, inbound: Inbound, runtime: RuntimeClient, config: FacioConfig
) -> str | None:
    """Run ``/new``, ``/stop``, ``/schedules`` or ``/unschedule``: the text to reply, or
    None when the turn's events will say it."""
    session = inbound.session_key
    if command.name == "new":
        await runtime.submit(inbound, command="reset")
        return None  # the worker's session_reset event says it
    if command.name == "schedules":
        return await runtime.schedules_text(config, session)
    if command.name == "unschedule":
        return await runtime.unschedule(config, session, command.args, inbound.user_id)
    if not await runtime.busy(session):
        return NOTHING_TO_STOP
    await runtime.stop(session)
    return None  # turn_finished (cancelled) says it
