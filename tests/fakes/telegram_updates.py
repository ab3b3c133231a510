"""Builders of Telegram updates as the Bot API sends them (JSON objects, no update_id).

:class:`tests.fakes.telegram_server.FakeTelegram` numbers them when pushed.
Entities (mentions, commands) are found in the text the way Telegram's
clients mark them, with UTF-16 offsets.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

__all__ = [
    "callback",
    "group_chat",
    "message_update",
    "private_chat",
    "text_entities",
    "user",
]

_ids = itertools.count(10_000)
_WORD = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,}|^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_entities(text: str) -> list[dict[str, Any]]:
    """``mention`` and ``bot_command`` entities, as a Telegram client would attach them."""
    found = []
    for match in _WORD.finditer(text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        found.append(
            {
                "type": kind,
                "offset": _units(text[: match.start()]),
                "length": _units(match.group()),
            }
        )
    return found


def user(uid: int, first_name: str = "Alice", username: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
    if username:
        data["username"] = username
    return data


def private_chat(person: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": person["id"], "type": "private", "first_name": person["first_name"]}
    if "username" in person:
        chat["username"] = person["username"]
    return chat


def group_chat(chat_id: int, title: str = "Team", *, forum: bool = False) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": title}
    if forum:
        chat["is_forum"] = True
    return chat


def message_update(
    person: dict[str, Any],
    text: str | None = None,
    *,
    chat: dict[str, Any] | None = None,
    thread_id: int | None = None,
    topic: bool = False,
    reply_to: dict[str, Any] | None = None,
    edited: bool = False,
    message_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    """``{"message": {...}}`` (or ``edited_message``) from ``person``; ``content`` adds
    fields such as ``photo``, ``document``, ``caption`` or ``location``."""
    message: dict[str, Any] = {
        "message_id": message_id or next(_ids),
        "date": int(time.time()),
        "chat": chat or private_chat(person),
        "from": person,
    }
    if text is not None:
        message["text"] = text
        entities = text_entities(text)
        if entities:
            message["entities"] = entities
    if content.get("caption"):
        entities = text_entities(content["caption"])
        if entities:
            message["caption_entities"] = entities
    if thread_id is not None:
        message["message_thread_id"] = thread_id
    if topic:
        message["is_topic_message"] = True
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if edited:
        message["edit_date"] = int(time.time())
    message.update(content)
    return {"edited_message" if edited else "message": message}


def callback(person: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
    """A button click on ``message`` (as the fake stored it)."""
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": person,
            "chat_instance": "ci-1",
            "message": message,
            "data": data,
        }
    }
