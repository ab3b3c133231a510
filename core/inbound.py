"""Inbound: one message from a person, normalized by its channel.

Channels (Telegram, Slack, Discord, the HTTP API, the terminal) turn their
platform's update into an ``Inbound``; the runtime queues it as a turn.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Attachment(BaseModel):
    """A file the person sent, saved under the workspace by the channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    """Path relative to the workspace."""
    mime_type: str = "application/octet-stream"
    name: str = ""


class Inbound(BaseModel):
    """A normalized incoming message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str
    """``telegram``, ``slack``, ``discord``, ``api``, ``cli``, ``cron``."""
    session_key: str
    user_id: str
    user_name: str = ""
    text: str
    attachments: tuple[Attachment, ...] = ()
    event_id: str | None = None
    """The platform's id of this update, for dedupe; None when it has none."""
    reply_to: dict[str, str] = Field(default_factory=dict)
    """Where the answer goes (chat id, thread ts, message id…), channel-specific."""
    approvers: tuple[str, ...] = ()
    """Users besides the sender who may decide this turn's approvals."""
    bot: str = "main"
