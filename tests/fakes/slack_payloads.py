"""Builders of what Slack sends an app, in the shapes of Slack's docs (docs.slack.dev).

Events (the ``event`` of an Events API callback): a person's ``message`` in
a DM (``channel_type: im``), a channel or a thread (``thread_ts``,
``parent_user_id``), with the ``rich_text`` blocks Slack's clients attach;
``app_mention``; the subtypes ``message_changed``, ``message_deleted``,
``bot_message`` (another bot) and ``file_share``; wrapped by
:func:`event_callback` with ``event_id``, ``event_time``, ``team_id``,
``api_app_id`` and ``authorizations``. Interactivity: :func:`block_actions`
(a button click). The fake server fills these in from its workspace
(:meth:`tests.fakes.slack_server.FakeSlack.say`, ``click``); tests may build
and push their own.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from typing import Any

from tests.fakes.slack_workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Channel,
    User,
    bot_profile,
)

__all__ = [
    "VERIFICATION_TOKEN",
    "app_mention_event",
    "block_actions",
    "bot_message_event",
    "event_callback",
    "file_share_event",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "new_event_id",
    "own_message_event",
    "rich_text",
    "slash_command",
]

VERIFICATION_TOKEN = "Jhj5dZrVaK7ZwHHjRyZWjbDl"
"""The deprecated verification token Slack still puts in payloads."""
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_events = itertools.count(1)


def new_event_id() -> str:
    return f"Ev0{next(_events):08X}FK"


def rich_text(text: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block a Slack client attaches to a typed message."""
    elements: list[dict[str, Any]] = []
    at = 0
    for match in _MENTION.finditer(text):
        if match.start() > at:
            elements.append({"type": "text", "text": text[at : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        at = match.end()
    if at < len(text):
        elements.append({"type": "text", "text": text[at:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [section]}]


def _threaded(event: dict[str, Any], thread_ts: str | None, parent_user: str | None) -> None:
    if thread_ts is not None and thread_ts != event["ts"]:
        event["thread_ts"] = thread_ts
        if parent_user is not None:
            event["parent_user_id"] = parent_user


def message_event(
    user: User,
    channel: Channel,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    client_msg_id: str | None = None,
) -> dict[str, Any]:
    """A person's message as the ``message.*`` events carry it."""
    event: dict[str, Any] = {
        "user": user.id,
        "type": "message",
        "ts": ts,
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "text": text,
        "team": user.team_id,
        "blocks": rich_text(text),
        "channel": channel.id,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }
    _threaded(event, thread_ts, parent_user_id)
    return event


def app_mention_event(
    user: User,
    channel: Channel,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    client_msg_id: str | None = None,
) -> dict[str, Any]:
    """The ``app_mention`` event of a message that mentions the bot (no ``channel_type``)."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user.id,
        "ts": ts,
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "text": text,
        "team": user.team_id,
        "blocks": rich_text(text),
        "channel": channel.id,
        "event_ts": ts,
    }
    _threaded(event, thread_ts, parent_user_id)
    return event


def file_share_event(
    user: User,
    channel: Channel,
    text: str,
    files: list[dict[str, Any]],
    *,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
) -> dict[str, Any]:
    """A message with uploaded files (``subtype: file_share``)."""
    event = message_event(
        user, channel, text, ts=ts, thread_ts=thread_ts, parent_user_id=parent_user_id
    )
    event.update(
        {"subtype": "file_share", "files": files, "upload": False, "display_as_bot": False}
    )
    return event


def own_message_event(
    channel: Channel, text: str, *, ts: str, thread_ts: str | None = None
) -> dict[str, Any]:
    """A message the app's own bot posted, as its ``message`` event comes back."""
    event: dict[str, Any] = {
        "user": BOT_USER_ID,
        "type": "message",
        "ts": ts,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": text,
        "team": TEAM_ID,
        "bot_profile": bot_profile(),
        "channel": channel.id,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }
    _threaded(event, thread_ts, BOT_USER_ID)
    return event


def bot_message_event(
    bot_id: str, channel: Channel, text: str, *, ts: str, username: str = "other-bot"
) -> dict[str, Any]:
    """A message from another bot or integration (``subtype: bot_message``)."""
    return {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": ts,
        "username": username,
        "bot_id": bot_id,
        "channel": channel.id,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }


def message_changed_event(
    channel: Channel, message: dict[str, Any], previous: dict[str, Any], *, ts: str
) -> dict[str, Any]:
    """``message`` (now, with ``edited``) replaced ``previous`` at ``ts``."""
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": previous,
        "channel": channel.id,
        "hidden": True,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }


def message_deleted_event(channel: Channel, previous: dict[str, Any], *, ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": previous["ts"],
        "previous_message": previous,
        "channel": channel.id,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel.channel_type,
    }


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """The Events API envelope around ``event`` (its ``event_id`` is what a redelivery keeps)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(48),
    }


def block_actions(
    user: User,
    channel: Channel,
    message: dict[str, Any],
    element: dict[str, Any],
    block_id: str,
    *,
    response_url: str,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A click on ``element`` (a button of ``message``, as it is now) by ``user``."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel.id,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    action: dict[str, Any] = {
        "action_id": element.get("action_id", ""),
        "block_id": block_id,
        "text": element.get("text"),
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style", "url"):
        if key in element:
            action[key] = element[key]
    return {
        "type": "block_actions",
        "user": {
            "id": user.id,
            "username": user.name,
            "name": user.name,
            "team_id": user.team_id,
        },
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or f"{int(time.time())}.{secrets.token_hex(16)}",
        "team": {"id": user.team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": channel.id,
            "name": "directmessage" if channel.kind == "im" else channel.name,
        },
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def slash_command(
    user: User, channel: Channel, command: str, text: str = "", *, response_url: str
) -> dict[str, Any]:
    """A slash command (``/facio status``) as Slack posts it: flat string fields."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": user.team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.kind == "im" else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(16)}",
    }
