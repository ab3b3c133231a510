"""What the fake Discord remembers: its world, every message version and every call.

One :class:`State` per server, guarded by the server's lock; the records here
are what tests read back (copies, through
:class:`tests.fakes.discord_server.FakeDiscord`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.discord_objects import Channel, Guild, User

__all__ = ["Call", "Callback", "Interaction", "State", "Typing", "Version"]


@dataclass
class Call:
    """One HTTP request to the fake, as it arrived."""

    method: str
    route: str
    """Discord's route template, as discord.py names it: ``/channels/{channel_id}/messages``."""
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    """The JSON body (``payload_json`` of a multipart one), or ``None``."""
    files: list[str] = field(default_factory=list)
    """Names of the uploaded files (multipart ``files[n]``)."""
    uploads: list[tuple[str, bytes]] = field(default_factory=list, repr=False)
    """(content type, bytes) of each uploaded file."""
    at: float = field(default_factory=time.perf_counter)
    status: int = 0
    """The answer's HTTP status (0: the connection was dropped, or no answer yet)."""

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


@dataclass
class Version:
    """A message as it read after its creation or one edit."""

    message: dict[str, Any]
    at: float
    """``time.perf_counter()``."""
    by: str
    """``create``, ``edit`` (REST or webhook), ``interaction`` (an UPDATE_MESSAGE callback),
    ``push`` (a person's message), ``delete``."""


@dataclass
class Typing:
    channel_id: int
    at: float


@dataclass
class Callback:
    """One ``POST /interactions/{id}/{token}/callback``, answered or refused."""

    type: int | None
    data: dict[str, Any] | None
    after: float
    """Seconds since the interaction was created (the click)."""
    status: int
    code: int | None = None
    """Discord's JSON error code when refused (10062 too late, 40060 twice)."""


@dataclass
class Interaction:
    """A component interaction the fake created (a click) and what the bot did with it."""

    id: int
    token: str
    payload: dict[str, Any]
    created: float
    """``time.perf_counter()`` of the click."""
    user: User
    channel_id: int
    message_id: int | None
    callbacks: list[Callback] = field(default_factory=list)
    response_type: int | None = None
    original_id: int | None = None
    """The message ``@original`` names: the response message (4, 5) or the clicked one (6, 7)."""
    followups: list[int] = field(default_factory=list)
    deferred_message: bool = False
    """Answered with type 5: the first follow-up edits the loading message."""

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    @property
    def custom_id(self) -> str:
        return str(self.payload["data"]["custom_id"])


@dataclass
class State:
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    members: dict[int, list[User]] = field(default_factory=dict)
    """Guild id → its members (the bot included)."""
    channels: dict[int, Channel] = field(default_factory=dict)
    denied: dict[int, int] = field(default_factory=dict)
    """Channel id → the error code its sends get (50001, 50013, 50007)."""
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    """Channel id → message id → the message as it reads now (deleted ones removed)."""
    versions: dict[int, list[Version]] = field(default_factory=dict)
    ephemeral: dict[int, int] = field(default_factory=dict)
    """Message id → the one person who sees it (ephemeral interaction responses)."""
    allowed_mentions: dict[int, Any] = field(default_factory=dict)
    """Message id → the ``allowed_mentions`` of its latest create or edit (absent: not sent)."""
    nonces: dict[tuple[int, int, str], tuple[int, float]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    typing: list[Typing] = field(default_factory=list)
    interactions: dict[int, Interaction] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    dms: dict[int, int] = field(default_factory=dict)
    """User id → the id of the bot's DM channel with them."""
    commands: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """CDN path (``attachments/<channel>/<id>/<name>``) → (content type, bytes)."""
    failures: dict[str, list[Any]] = field(default_factory=dict)
    """Route key → scripted faults (:class:`tests.fakes.discord_faults.Failure`)."""

    def find(self, message_id: int) -> tuple[int, dict[str, Any]] | None:
        for channel_id, stored in self.messages.items():
            if message_id in stored:
                return channel_id, stored[message_id]
        return None

    def record(self, message: dict[str, Any], by: str) -> None:
        self.versions.setdefault(int(message["id"]), []).append(
            Version(copy.deepcopy(message), time.perf_counter(), by)
        )
