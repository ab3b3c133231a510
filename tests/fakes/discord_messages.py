"""Message objects as Discord builds them: from a create body, an edit, or a person.

Discord fills in what the sender did not say: ``id`` and ``timestamp``,
``author``, ``mentions``/``mention_roles``/``mention_everyone`` parsed from the
content under ``allowed_mentions``, a reply's ``type`` 19 with
``message_reference`` and ``referenced_message``, ``edited_timestamp`` on an
edit. Gateway events add ``guild_id``, a partial ``member`` and
``channel_type`` (:func:`event_payload`).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.discord_objects import Channel, User, iso, member_wire, snowflake
from tests.fakes.discord_state import State
from tests.fakes.discord_validation import ApiError, FormErrors, mentions_of

__all__ = ["apply_edit", "event_payload", "new_message", "reference_of"]

_EDITABLE = ("content", "embeds", "components", "flags", "attachments")


def _mentions(state: State, message: dict[str, Any], allowed: dict[str, Any] | None) -> None:
    users, roles, everyone = mentions_of(str(message.get("content") or ""), allowed)
    found = [state.users[u].wire() for u in users if u in state.users]
    replied = message.get("referenced_message")
    if replied and (allowed is None or allowed.get("replied_user")):
        author = replied["author"]
        if all(u["id"] != author["id"] for u in found):
            found.append(author)
    message["mentions"] = found
    message["mention_roles"] = [str(r) for r in roles]
    message["mention_everyone"] = everyone


def reference_of(state: State, channel: Channel, body: dict[str, Any]) -> dict[str, Any] | None:
    """The message a create body replies to (``None``: not a reply, or a reply to a
    missing message with ``fail_if_not_exists: false``)."""
    reference = body.get("message_reference")
    if not reference:
        return None
    target = int(reference.get("message_id") or 0)
    found = state.messages.get(int(reference.get("channel_id") or channel.id), {}).get(target)
    if found is None:
        if reference.get("fail_if_not_exists", True):
            errors = FormErrors()
            errors.add(
                ("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
            errors.raise_if_any()
        return None
    return found


def new_message(
    state: State,
    channel: Channel,
    author: User,
    body: dict[str, Any],
    *,
    attachments: list[dict[str, Any]] | None = None,
    application_id: int | None = None,
    interaction: dict[str, Any] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """A new message from ``body`` (a create body, already validated); not stored."""
    now = time.time() if at is None else at
    message: dict[str, Any] = {
        "id": str(snowflake(now)),
        "channel_id": str(channel.id),
        "author": author.wire(),
        "content": str(body.get("content") or ""),
        "timestamp": iso(now),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments or [],
        "embeds": [dict(e, type=e.get("type", "rich")) for e in body.get("embeds") or []],
        "components": copy.deepcopy(body.get("components") or []),
        "pinned": False,
        "type": 0,
        "flags": int(body.get("flags") or 0),
    }
    if body.get("nonce") is not None:
        message["nonce"] = body["nonce"]
    if application_id is not None:
        message["application_id"] = str(application_id)
        message["webhook_id"] = str(application_id)
    if interaction is not None:
        message["interaction_metadata"] = interaction
    replied = reference_of(state, channel, body)
    if replied is not None:
        message["type"] = 19
        message["message_reference"] = {
            "type": 0,
            "channel_id": replied["channel_id"],
            "message_id": replied["id"],
        }
        if channel.guild_id is not None:
            message["message_reference"]["guild_id"] = str(channel.guild_id)
        message["referenced_message"] = {
            k: v for k, v in replied.items() if k != "referenced_message"
        }
    _mentions(state, message, body.get("allowed_mentions"))
    return message


def apply_edit(
    state: State,
    message: dict[str, Any],
    body: dict[str, Any],
    *,
    new_files: list[dict[str, Any]] | None = None,
) -> None:
    """Edit ``message`` in place: the fields ``body`` names (``null`` clears them).

    Attachments: v10 keeps only those the body's ``attachments`` lists (by id),
    plus the new files; without ``attachments`` the old ones stay and files are
    appended.
    """
    for key in _EDITABLE:
        if key not in body:
            continue
        value = body[key]
        if key == "content":
            message["content"] = str(value or "")
        elif key == "flags":
            message["flags"] = int(value or 0)
        elif key == "attachments":
            keep = {str(a.get("id")) for a in value or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
        else:
            message[key] = copy.deepcopy(value or [])
    if new_files:
        message["attachments"] = [*message["attachments"], *new_files]
    if "content" in body or "allowed_mentions" in body:
        _mentions(state, message, body.get("allowed_mentions"))
    message["edited_timestamp"] = iso()


def event_payload(state: State, message: dict[str, Any]) -> dict[str, Any]:
    """``message`` as MESSAGE_CREATE/MESSAGE_UPDATE carry it."""
    channel = state.channels[int(message["channel_id"])]
    data = copy.deepcopy(message)
    data["channel_type"] = channel.type
    if channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
        if not message.get("webhook_id"):
            data["member"] = member_wire(None)
        for mentioned in data["mentions"]:
            mentioned["member"] = member_wire(None)
    return data


def require(state: State, channel_id: int) -> Channel:
    """The channel, or Discord's 10003 "Unknown Channel"; a denied one raises its code."""
    channel = state.channels.get(channel_id)
    if channel is None:
        raise ApiError(404, 10003, "Unknown Channel")
    denied = state.denied.get(channel_id)
    if denied == 50001:
        raise ApiError(403, 50001, "Missing Access")
    return channel


def require_message(state: State, channel_id: int, message_id: int) -> dict[str, Any]:
    require(state, channel_id)
    found = state.messages.get(channel_id, {}).get(message_id)
    if found is None:
        raise ApiError(404, 10008, "Unknown Message")
    return found
