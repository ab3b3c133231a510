"""Discord messages in the chat layer's words: a message becomes an :class:`Incoming`.

Sessions (docs/discord.md): a DM is ``discord:dm:<channel_id>``; a guild
channel ``discord:<guild_id>:<channel_id>``; a thread its own session,
``discord:<guild_id>:<parent_id>:thread:<thread_id>``. Answers go back to the
same channel (a thread is a channel of its own), and in guilds they reply to
the person's message so it is clear whom the bot answers.

In guilds the bot is addressed by a mention (of the bot, or of its managed
role), a reply to one of its messages, or a text command (``/new``,
``/new@botname``, also after a leading mention: ``@facio /stop``). The agent
gets the text as people see it (``clean_content``: ``<@123>`` becomes
``@alice``). Attachments: each is saved for the agent (the chat layer);
a message with nothing readable (a sticker alone, a poll)
is marked unsupported and gets a short note. System messages (joins, pins,
thread starters) are not messages to answer.

The :class:`Incoming` is also what is kept in Redis while a message waits in
its lane (:func:`dump` / :func:`load`): it holds everything needed to handle
the message again after a restart, without the platform's raw payload.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

import discord

from channels.chat.commands import Command, parse_text_command
from channels.chat.intake import Incoming, IncomingFile
from channels.chat.platform import Person, Target

__all__ = [
    "CHANNEL",
    "addressed",
    "command_incoming",
    "dump",
    "incoming",
    "load",
    "person",
    "session_of",
]

CHANNEL = "discord"
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
_LEADING_MENTION = re.compile(r"^\s*<@!?(\d+)>\s*")


def person(user: discord.abc.User) -> Person:
    return Person(str(user.id), user.name, user.display_name, user.bot)


def session_of(message: discord.Message) -> tuple[str, Target, dict[str, str]]:
    """The session key, where facio's replies go, and the Inbound's ``reply_to``."""
    return _session(message.channel, _guild_id(message), str(message.id))


def _session(channel: Any, guild: int | None, message: str) -> tuple[str, Target, dict[str, str]]:
    """:func:`session_of` for a message ``message`` (``""``: none to reply to, as a
    slash command has) in ``channel`` of ``guild``."""
    if guild is None:
        where = {"channel_id": str(channel.id)}
        return f"{CHANNEL}:dm:{channel.id}", Target(str(channel.id)), where
    reply_to = {"channel_id": str(channel.id), "guild_id": str(guild)}
    if message:
        reply_to["message_id"] = message
    if isinstance(channel, discord.Thread):
        key = f"{CHANNEL}:{guild}:{channel.parent_id}:thread:{channel.id}"
        reply_to["thread_id"] = str(channel.id)
        return key, Target(str(channel.id), str(channel.id), message, True), reply_to
    target = Target(str(channel.id), "", message, True)
    return f"{CHANNEL}:{guild}:{channel.id}", target, reply_to


def _guild_id(message: discord.Message) -> int | None:
    """The guild's id, also for a guild discord.py has not cached yet (a message that comes
    between READY and its GUILD_CREATE arrives in a ``PartialMessageable``)."""
    if message.guild is not None:
        return message.guild.id
    channel = message.channel
    if isinstance(channel, discord.PartialMessageable):
        return channel.guild_id
    return None


def command_incoming(interaction: discord.Interaction[Any], text: str) -> Incoming | None:
    """A slash command (``text`` as :func:`channels.discord.commands.command_text` made
    it) as the :class:`Incoming` of a person typing it there; None without a channel."""
    channel = interaction.channel
    if channel is None:
        return None
    key, target, reply_to = _session(channel, interaction.guild_id, "")
    return Incoming(
        event_id=f"i:{interaction.id}",
        person=person(interaction.user),
        session_key=key,
        target=target,
        reply_to=reply_to,
        text=text,
        lane=str(channel.id),
        message=str(interaction.id),
        addressed=True,
        command=parse_text_command(text),
    )


def addressed(message: discord.Message, me: discord.ClientUser | None) -> bool:
    """In a guild: does this message mention the bot (or its role) or reply to it?"""
    if me is None:
        return False
    if any(user.id == me.id for user in message.mentions):
        return True
    guild = message.guild
    own_role = guild.self_role if guild is not None else None
    if own_role is not None and own_role in message.role_mentions:
        return True
    reference = message.reference
    replied = reference.resolved if reference is not None else None
    return isinstance(replied, discord.Message) and replied.author.id == me.id


def _command(content: str, me: discord.ClientUser | None) -> Command | None:
    """``/new``, also after a leading mention of the bot (``<@bot> /stop``)."""
    lead = _LEADING_MENTION.match(content)
    if lead is not None:
        if me is None or int(lead.group(1)) != me.id:
            return None
        content = content[lead.end() :]
    return parse_text_command(content, me.name if me is not None else "")


def _files(message: discord.Message) -> tuple[IncomingFile, ...]:
    """The attachments, as files to save, in order."""
    return tuple(
        IncomingFile(
            item.url,
            item.filename,
            item.content_type or "application/octet-stream",
            item.size,
            "photo" if (item.content_type or "").startswith("image/") else "file",
        )
        for item in message.attachments
    )


def incoming(
    message: discord.Message, me: discord.ClientUser | None, *, edited: bool = False
) -> Incoming:
    """``message`` as the chat layer's :class:`Incoming`."""
    key, target, reply_to = session_of(message)
    text = message.clean_content if message.content else ""
    files = _files(message)
    if not text and not files and message.stickers:
        text = "[sticker " + ", ".join(s.name for s in message.stickers) + "]"
    event = f"{message.id}" if not edited else f"{message.id}:edit:{_edited(message)}"
    return Incoming(
        event_id=event,
        person=person(message.author),
        session_key=key,
        target=target,
        reply_to=reply_to,
        text=text,
        lane=str(message.channel.id),
        message=str(message.id),
        addressed=target.group and addressed(message, me),
        command=_command(message.content, me),
        edited=edited,
        files=files,
        unsupported=not text and not files,
    )


def _edited(message: discord.Message) -> str:
    at = message.edited_at
    return str(int(at.timestamp() * 1000)) if at is not None else "0"


def dump(item: Incoming) -> str:
    """The :class:`Incoming` as JSON, kept while it waits in a lane."""
    return json.dumps(asdict(item))


def load(raw: str) -> Incoming:
    """The :class:`Incoming` :func:`dump` kept."""
    data: dict[str, Any] = json.loads(raw)
    files = data.pop("files", None)
    if files is None:  # kept by a facio that saved one attachment per message
        old = data.pop("file", None)
        files = [old] if old else []
    command = data.pop("command")
    return Incoming(
        **{
            **data,
            "person": Person(**data["person"]),
            "target": Target(**data["target"]),
            "reply_to": dict(data["reply_to"]),
        },
        files=tuple(IncomingFile(**f) for f in files),
        command=Command(**command) if command else None,
    )
