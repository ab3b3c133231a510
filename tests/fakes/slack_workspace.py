"""The fake Slack's workspace: its ids and tokens, people, conversations, messages.

Everything here is plain data guarded by the server's lock; the wire shapes
(``wire()``) are the ones Slack's Web API returns (``users.info``'s user,
``conversations.info``'s channel, a message as ``chat.postMessage`` and
``conversations.history`` show it). A message keeps every version it had
(:class:`Version`), so a test can assert both what a person sees now and
what changed on the way.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "DEFAULT_SCOPES",
    "SIGNING_SECRET",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "TEAM_NAME",
    "Call",
    "Channel",
    "Ephemeral",
    "File",
    "Message",
    "ResponseUrl",
    "State",
    "Timestamps",
    "User",
    "Version",
]

TEAM_ID = "T0FACIO01"
TEAM_NAME = "Facio Test"
TEAM_DOMAIN = "facio-test"
BOT_USER_ID = "U0FACIOBOT"
BOT_ID = "B0FACIOBOT"
APP_ID = "A0FACIOAPP"
BOT_NAME = "facio"
BOT_TOKEN = "xoxb-1000000001-2000000002-FakeSlackBotToken0001"
APP_TOKEN = "xapp-1-A0FACIOAPP-3000000003-" + "0f" * 32
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DEFAULT_SCOPES = (
    "app_mentions:read",
    "assistant:write",
    "channels:history",
    "channels:read",
    "chat:write",
    "files:read",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "mpim:history",
    "mpim:read",
    "reactions:write",
    "users:read",
)
"""The bot token's scopes unless the test says otherwise (``FakeSlack(scopes=…)``)."""

ChannelKind = Literal["im", "mpim", "channel", "group"]


class Timestamps:
    """Slack message timestamps: ``"<epoch seconds>.<6 digits>"``, unique and increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last + 1)
            self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


_numbers = itertools.count(1)


def new_id(prefix: str) -> str:
    """An id the way Slack spells them: a capital letter and upper-case alphanumerics."""
    return f"{prefix}0{next(_numbers):08X}"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    team_id: str = TEAM_ID
    deleted: bool = False

    def wire(self) -> dict[str, Any]:
        """The user object of ``users.info``."""
        real = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": real,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "team": self.team_id,
                **({"bot_id": self.bot_id} if self.bot_id else {}),
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }


@dataclass
class Channel:
    id: str
    name: str
    kind: ChannelKind
    members: set[str] = field(default_factory=set)
    user: str | None = None
    """The other person of a DM (``im``)."""
    archived: bool = False
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def channel_type(self) -> str:
        """What message events carry as ``channel_type``."""
        return self.kind

    @property
    def private(self) -> bool:
        return self.kind != "channel"

    def wire(self) -> dict[str, Any]:
        """The channel object of ``conversations.info``."""
        data: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_archived": self.archived,
            "is_im": self.kind == "im",
            "is_mpim": self.kind == "mpim",
            "is_private": self.private,
            "context_team_id": TEAM_ID,
        }
        if self.kind == "im":
            data.update({"user": self.user, "is_user_deleted": False, "is_open": True})
            return data
        data.update(
            {
                "name": self.name,
                "name_normalized": self.name,
                "is_channel": self.kind == "channel",
                "is_group": self.kind == "group",
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": BOT_USER_ID in self.members,
                "creator": "",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        )
        return data


@dataclass(frozen=True)
class Version:
    """One state of a message: what a person saw from ``at`` on."""

    at: float
    via: str
    """``chat.postMessage``, ``chat.update``, ``chat.delete``, ``response_url``, ``person``…"""
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    deleted: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    client_msg_id: str | None = None
    edited: dict[str, str] | None = None
    deleted: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    """``ts`` of the replies, for a thread's parent."""
    params: dict[str, Any] = field(default_factory=dict)
    """The other arguments it was last posted or updated with (``mrkdwn``, ``unfurl_links``…)."""
    metadata: dict[str, Any] | None = None
    """The app's ``metadata`` (``event_type``, ``event_payload``), hidden from people."""
    versions: list[Version] = field(default_factory=list)

    def record(self, via: str) -> None:
        self.versions.append(
            Version(time.time(), via, self.text, tuple(self.blocks), deleted=self.deleted)
        )

    def wire(self, *, metadata: bool = False) -> dict[str, Any]:
        """The message as ``conversations.history`` (and ``chat.postMessage``) return it;
        its ``metadata`` only with ``metadata`` (``include_all_metadata``, a post's answer)."""
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user}
        if self.subtype:
            data["subtype"] = self.subtype
        data.update({"text": self.text, "team": TEAM_ID})
        if self.client_msg_id:
            data["client_msg_id"] = self.client_msg_id
        if self.bot_id:
            data.update({"bot_id": self.bot_id, "app_id": APP_ID, "bot_profile": bot_profile()})
        if self.blocks:
            data["blocks"] = [dict(b) for b in self.blocks]
        if self.files:
            data["files"] = [dict(f) for f in self.files]
            data["upload"] = False
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.replies:
            data.update(
                {
                    "reply_count": len(self.replies),
                    "latest_reply": self.replies[-1],
                    "is_locked": False,
                    "subscribed": False,
                }
            )
        if self.edited:
            data["edited"] = dict(self.edited)
        if metadata and self.metadata is not None:
            data["metadata"] = dict(self.metadata)
        if self.reactions:
            data["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return data


def bot_profile() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "deleted": False,
        "name": BOT_NAME,
        "updated": 1700000000,
        "app_id": APP_ID,
        "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"},
        "team_id": TEAM_ID,
    }


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees (``chat.postEphemeral`` or a ``response_url``)."""

    channel: str
    user: str
    text: str
    blocks: tuple[dict[str, Any], ...]
    thread_ts: str | None
    via: str
    at: float


@dataclass
class ResponseUrl:
    """A click's ``response_url``: good for 5 posts within 30 minutes."""

    id: str
    channel: str
    message_ts: str
    user: str
    thread_ts: str | None
    created: float = field(default_factory=time.monotonic)
    posts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class File:
    id: str
    name: str
    content: bytes | None
    """``None``: ``size`` zero bytes, streamed (an oversize file without the memory)."""
    size: int
    mimetype: str
    user: str

    def wire(self, base_url: str) -> dict[str, Any]:
        """The file object of ``files.info`` and of a ``file_share`` message."""
        root = f"{base_url}/files-pri/{TEAM_ID}-{self.id}"
        private = f"{root}/{self.name}"
        return {
            "id": self.id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": self.name,
            "title": self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "pretty_type": self.mimetype,
            "user": self.user,
            "user_team": TEAM_ID,
            "editable": False,
            "size": self.size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": f"{root}/download/{self.name}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{self.user}/{self.id}/{self.name}",
        }


@dataclass
class Call:
    """One Web API request as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float
    """``time.perf_counter()`` when it arrived."""
    token: str | None = None
    status: int = 200
    error: str | None = None
    """Slack's ``error`` when the answer was ``ok: false``."""


@dataclass
class State:
    """Everything the fake server knows; read and written under its lock."""

    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, dict[str, Message]] = field(default_factory=dict)
    """channel id → ts → message (people's and the bot's, deleted ones kept)."""
    ephemerals: list[Ephemeral] = field(default_factory=list)
    response_urls: dict[str, ResponseUrl] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    """Parameters of every accepted ``assistant.threads.setStatus``."""
    tickets: set[str] = field(default_factory=set)
    """Socket Mode URLs issued by ``apps.connections.open`` and not used yet."""
    failures: dict[str, list[Any]] = field(default_factory=dict)
    """Scripted faults per method (:class:`tests.fakes.slack_faults.Failure`)."""
    lost_answers: dict[str, list[Any]] = field(default_factory=dict)
    """Calls per method whose answer is lost (:class:`tests.fakes.slack_faults.LostAnswer`)."""
    limits: dict[str, Any] = field(default_factory=dict)
    """Rate limits per method (:class:`tests.fakes.slack_faults.RateLimit`)."""
    assistant_error: str | None = None
    file_delay: float = 0.0
