"""Typed builders of Discord's objects, and their wire form (API v10 JSON).

The fake Discord (:mod:`tests.fakes.discord_server`) keeps its world as these
frozen dataclasses and serializes them with ``wire()`` exactly as Discord
sends them; tests build people and places with them:

    alice = user("alice")                        # a person (snowflake id, username)
    helper = user("helper", bot=True)            # another bot
    team = guild("Team")                         # a server; its @everyone role has its id
    general = text_channel(team, "general")
    plan = thread(general, "plan")               # a public thread in #general

Ids are real snowflakes (milliseconds since Discord's epoch, shifted left 22
bits), increasing, so ``discord.utils.snowflake_time`` reads a plausible time
from them. Messages and interactions are plain wire dicts: they are what
Discord stores and what a test inspects.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DISCORD_EPOCH_MS",
    "Channel",
    "ChannelType",
    "Guild",
    "Role",
    "User",
    "dm_channel",
    "guild",
    "iso",
    "member_wire",
    "role",
    "snowflake",
    "text_channel",
    "thread",
    "user",
]

DISCORD_EPOCH_MS = 1_420_070_400_000
_counter = itertools.count()
_lock = threading.Lock()
_last_ms = 0


def snowflake(at: float | None = None) -> int:
    """A new, unique, increasing snowflake for ``at`` (seconds since the Unix epoch; now)."""
    global _last_ms
    with _lock:
        ms = int((time.time() if at is None else at) * 1000)
        ms = max(ms, _last_ms)  # never go back: ids stay increasing
        _last_ms = ms
        increment = next(_counter) & 0xFFF
        if increment == 0xFFF:
            _last_ms += 1
    return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | increment


def iso(at: float | None = None) -> str:
    """An ISO 8601 timestamp as Discord writes them (``+00:00``, microseconds)."""
    return datetime.fromtimestamp(time.time() if at is None else at, UTC).isoformat()


class ChannelType:
    """Discord's channel types that the fake models."""

    GUILD_TEXT = 0
    DM = 1
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12


@dataclass(frozen=True)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    permissions: int = 0
    mentionable: bool = True

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def wire(self, position: int = 1) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": self.mentionable,
            "flags": 0,
        }


EVERYONE_PERMISSIONS = sum(
    1 << bit
    for bit in (
        6,  # ADD_REACTIONS
        10,  # VIEW_CHANNEL
        11,  # SEND_MESSAGES
        14,  # EMBED_LINKS
        15,  # ATTACH_FILES
        16,  # READ_MESSAGE_HISTORY
        18,  # USE_EXTERNAL_EMOJIS
        31,  # USE_APPLICATION_COMMANDS
        35,  # CREATE_PUBLIC_THREADS
        38,  # SEND_MESSAGES_IN_THREADS
    )
)
"""What @everyone may do in the fake's guilds (Discord's defaults, roughly)."""


@dataclass(frozen=True)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: tuple[Role, ...] = ()
    """Roles besides @everyone (whose id is the guild's)."""

    @property
    def everyone(self) -> Role:
        return Role(self.id, "@everyone", EVERYONE_PERMISSIONS, mentionable=False)


@dataclass(frozen=True)
class Channel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    """A thread's channel."""
    recipient: User | None = None
    """A DM's other person."""
    owner_id: int | None = None
    """A thread's creator."""
    created: float = field(default_factory=time.time)

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM

    @property
    def is_thread(self) -> bool:
        return self.type in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def wire(
        self, *, last_message_id: int | None = None, in_guild_create: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": str(last_message_id) if last_message_id else None,
            "flags": 0,
        }
        if self.is_dm:
            assert self.recipient is not None
            data["recipients"] = [self.recipient.wire()]
            return data
        if not in_guild_create:  # GUILD_CREATE's channels omit it; REST and events carry it
            data["guild_id"] = str(self.guild_id)
        data.update({"name": self.name, "rate_limit_per_user": 0, "nsfw": False})
        if self.is_thread:
            data.update(
                {
                    "parent_id": str(self.parent_id),
                    "owner_id": str(self.owner_id),
                    "message_count": 0,
                    "member_count": 1,
                    "total_message_sent": 0,
                    "thread_metadata": {
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": iso(self.created),
                        "locked": False,
                        "create_timestamp": iso(self.created),
                    },
                }
            )
            if self.type == ChannelType.PRIVATE_THREAD:
                data["thread_metadata"]["invitable"] = True
        else:
            data.update(
                {
                    "position": 0,
                    "permission_overwrites": [],
                    "parent_id": None,
                    "topic": None,
                    "default_thread_rate_limit_per_user": 0,
                }
            )
        return data


def user(
    username: str, *, bot: bool = False, global_name: str | None = None, id: int | None = None
) -> User:
    """A person (or, with ``bot=True``, another bot); ``global_name`` defaults to the
    capitalized username, as most people set a display name."""
    shown = global_name if global_name is not None else (None if bot else username.capitalize())
    return User(id or snowflake(), username, shown, bot)


def role(name: str, *, permissions: int = 0, mentionable: bool = True) -> Role:
    return Role(snowflake(), name, permissions, mentionable)


def guild(name: str = "Team", *, owner: User | None = None, roles: tuple[Role, ...] = ()) -> Guild:
    return Guild(snowflake(), name, owner.id if owner else snowflake(), roles)


def text_channel(of: Guild, name: str = "general") -> Channel:
    return Channel(snowflake(), ChannelType.GUILD_TEXT, name, of.id)


def thread(
    parent: Channel, name: str = "thread", *, owner: User | None = None, private: bool = False
) -> Channel:
    kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
    return Channel(
        snowflake(), kind, name, parent.guild_id, parent.id, owner_id=owner.id if owner else None
    )


def dm_channel(person: User) -> Channel:
    return Channel(snowflake(), ChannelType.DM, recipient=person)


def member_wire(
    person: User | None,
    *,
    roles: tuple[Role, ...] = (),
    joined: float | None = None,
    permissions: int | None = None,
) -> dict[str, Any]:
    """A guild member object (``person=None``: the partial one of MESSAGE_CREATE, without user)."""
    data: dict[str, Any] = {
        "roles": [str(r.id) for r in roles],
        "nick": None,
        "avatar": None,
        "joined_at": iso(joined),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if person is not None:
        data["user"] = person.wire()
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data
