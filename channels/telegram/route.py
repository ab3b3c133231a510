"""Session keys and reply targets (DESIGN.md "Session keys").

A private chat or a group is one session: ``telegram:<chat_id>``. A forum
topic is its own session, ``telegram:<chat_id>:topic:<thread_id>`` — only
when the message really is a topic message (``is_topic_message``); a reply
thread in an ordinary group also carries a ``message_thread_id`` and stays
in the group's session. The answer goes back to the same chat and topic: the
inbound message's ``reply_to`` holds them, and every outbox event of the turn
carries it back.
"""

from __future__ import annotations

from aiogram.types import Message

from channels.telegram.send import ChatTarget
from core.wire import WireEvent

__all__ = ["CHANNEL", "is_group", "reply_to_of", "session_key_of", "target_of"]

CHANNEL = "telegram"


def is_group(message: Message) -> bool:
    return message.chat.type in ("group", "supergroup")


def _topic(message: Message) -> int | None:
    if message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return None


def session_key_of(message: Message) -> str:
    """``telegram:<chat>`` or ``telegram:<chat>:topic:<thread>``."""
    topic = _topic(message)
    base = f"{CHANNEL}:{message.chat.id}"
    return f"{base}:topic:{topic}" if topic else base


def reply_to_of(message: Message) -> dict[str, str]:
    """Where the answers to ``message`` go (strings: the Inbound's ``reply_to``)."""
    where = {"chat_id": str(message.chat.id), "chat_type": str(message.chat.type)}
    topic = _topic(message)
    if topic:
        where["thread_id"] = str(topic)
    if is_group(message):
        where["message_id"] = str(message.message_id)
    return where


def target_of(event: WireEvent) -> ChatTarget | None:
    """The chat an event goes to: its ``reply_to``, else its session key (cron turns)."""
    where = event.reply_to
    try:
        if where.get("chat_id"):
            thread = where.get("thread_id")
            reply = where.get("message_id")
            return ChatTarget(
                int(where["chat_id"]),
                int(thread) if thread else None,
                int(reply) if reply else None,
            )
        parts = event.session_key.split(":")
        if parts[0] != CHANNEL or len(parts) not in (2, 4):
            return None
        thread_id = int(parts[3]) if len(parts) == 4 and parts[2] == "topic" else None
        return ChatTarget(int(parts[1]), thread_id)
    except ValueError:
        return None
