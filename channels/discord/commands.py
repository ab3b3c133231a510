"""facio's chat commands as Discord slash commands.

The chat layer's commands (:data:`channels.chat.commands.MENU`: ``/new``,
``/stop``, ``/schedules``, ``/unschedule ID``, ``/help``) are registered as
global application commands when the gateway connects, so Discord lists them
in its command menu; typed as text they work as before. Registering reads the
commands Discord has first and writes them (one bulk overwrite, keeping the
application's other commands as they are) only when facio's differ, so a
reconnect costs one GET. A failure is logged and the gateway goes on: the
text commands still work.

A slash command arrives as an interaction (type 2) with the command's name
and options; :func:`command_text` turns it back into the text a person would
have typed, which the chat layer reads as any command. Discord wants an
answer within 3 s: the adapter answers with an ephemeral line, and what the
command says (help, schedules, "⏹ Stopped.") comes to the conversation as
facio's replies always do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from discord.http import HTTPClient

from channels.chat.commands import MENU
from channels.discord.errors import CALL_FAILURES, map_error

__all__ = ["command_text", "definitions", "register"]

logger = logging.getLogger(__name__)

CHAT_INPUT = 1
STRING = 3


def definitions() -> list[dict[str, Any]]:
    """The commands as Discord's bulk overwrite takes them."""
    made: list[dict[str, Any]] = []
    for entry in MENU:
        command: dict[str, Any] = {
            "name": entry.name,
            "description": entry.menu,
            "type": CHAT_INPUT,
        }
        if entry.arg:
            command["options"] = [
                {
                    "type": STRING,
                    "name": entry.arg.lower(),
                    "description": f"The {entry.arg} to use (see /help)",
                    "required": True,
                }
            ]
        made.append(command)
    return made


def _shape(command: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a command is ours to compare (Discord adds ids, versions, defaults)."""
    options = tuple(
        (o.get("type"), o.get("name"), o.get("description"), bool(o.get("required")))
        for o in command.get("options") or ()
    )
    return (command.get("name"), command.get("description"), command.get("type", 1), options)


_READ_ONLY = ("application_id", "version", "guild_id")


async def register(http: HTTPClient, application_id: int, token: str = "") -> bool:
    """Make facio's commands part of the application's global commands; True when
    they had to be written. Commands of other names (the application's own) are
    written back as they were: the bulk overwrite is Discord's one call for a set."""
    wanted = definitions()
    ours = {command["name"] for command in wanted}
    try:
        current = await http.get_global_commands(application_id)
        mine = [c for c in current if c.get("name") in ours]
        if sorted(map(_shape, mine)) == sorted(map(_shape, wanted)):
            return False
        others = [
            {k: v for k, v in c.items() if k not in _READ_ONLY}
            for c in current
            if c.get("name") not in ours
        ]
        await http.bulk_upsert_global_commands(application_id, [*others, *wanted])
    except CALL_FAILURES as exc:
        error = map_error(exc, "registering slash commands", token)
        logger.warning("discord: %s; the commands still work typed as text", error)
        return False
    logger.info("discord: slash commands registered (%d)", len(wanted))
    return True


def command_text(data: Mapping[str, Any]) -> str | None:
    """An application command's interaction data as the text a person would type
    (``/unschedule ab12``); None for a command that is not facio's."""
    name = data.get("name")
    entry = next((e for e in MENU if e.name == name), None)
    if entry is None or data.get("type", CHAT_INPUT) != CHAT_INPUT:
        return None
    values = [
        str(option.get("value", "")).strip()
        for option in data.get("options") or ()
        if isinstance(option, Mapping)
    ]
    return " ".join(["/" + entry.name, *filter(None, values)])
