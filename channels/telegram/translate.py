"""Telegram updates in the chat layer's words: a message becomes an :class:`Incoming`.

Sessions (docs/design.md "Session keys"): a private chat or a group is one
session, ``telegram:<chat_id>``; a forum topic is its own,
``telegram:<chat_id>:topic:<thread_id>`` — only when the message really is a
topic message (``is_topic_message``): a reply thread in an ordinary group
also carries a ``message_thread_id`` and stays in the group's session. The
answer goes back to the same chat and topic (``reply_to``), and in groups it
quotes the person's message.

In groups the bot is addressed by a mention (``@bot`` or a text mention), a
reply to one of its messages, or a command (``/new``, ``/new@bot``; not
``/new@otherbot``). A sticker reaches the agent as its emoji; locations,
polls, contacts and the like are marked unsupported (the intake answers with
a note); service messages (joins, pins) carry no text and are ignored.
"""

from __future__ import annotations

from aiogram.types import Message, MessageEntity, User

from channels.chat.commands import Command
from channels.chat.intake import Incoming, IncomingFile
from channels.chat.platform import Person, Target
from channels.telegram.platform import CHANNEL

__all__ = [
    "UNSUPPORTED",
    "addressed",
    "incoming",
    "incoming_file",
    "is_group",
    "parse_command",
    "person",
    "reply_to_of",
    "session_key_of",
]

UNSUPPORTED = frozenset(
    {"location", "venue", "contact", "poll", "dice", "game", "story", "invoice", "checklist"}
)


def person(user: User) -> Person:
    return Person(str(user.id), user.username or "", user.full_name, user.is_bot)


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


def parse_command(message: Message, me: User | None) -> Command | None:
    """The command a message starts with, if it does (a ``bot_command`` entity at 0)."""
    text = message.text or ""
    entity = next(
        (e for e in message.entities or [] if e.type == "bot_command" and e.offset == 0), None
    )
    if not text.startswith("/") or entity is None:
        return None
    # the entity says where the command ends ("/stop\nplease" is /stop); a command is ASCII,
    # so its UTF-16 length is its length in characters
    word, args = text[: entity.length], text[entity.length :]
    name, _, addressee = word[1:].partition("@")
    mine = not addressee or (
        me is not None and bool(me.username) and addressee.lower() == str(me.username).lower()
    )
    return Command(name.lower(), args.strip(), mine)


def addressed(message: Message, me: User) -> bool:
    """In a group: is this message for the bot (a reply to it, a mention, a command)?"""
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.forum_topic_created is None  # topic messages "reply" to the topic's start
        and replied.from_user is not None
        and replied.from_user.id == me.id
    ):
        return True
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or []
    return any(_names_me(entity, text, me) for entity in entities)


def _names_me(entity: MessageEntity, text: str, me: User) -> bool:
    if entity.type == "text_mention":
        return entity.user is not None and entity.user.id == me.id
    if entity.type not in ("mention", "bot_command") or not me.username:
        return False
    word = entity.extract_from(text)
    if entity.type == "bot_command":
        return "@" not in word or word.split("@", 1)[1].lower() == me.username.lower()
    return word[1:].lower() == me.username.lower()


def incoming_file(message: Message) -> IncomingFile | None:
    """The file a message carries, if any (stickers are not files here: they are emoji)."""
    if message.photo:
        photo = max(message.photo, key=lambda p: p.width * p.height)
        return IncomingFile(photo.file_id, "photo.jpg", "image/jpeg", photo.file_size, "photo")
    for kind in ("document", "audio", "video", "voice", "video_note", "animation"):
        item = getattr(message, kind, None)
        if item is not None:
            name = getattr(item, "file_name", None) or f"{kind}.bin"
            mime = getattr(item, "mime_type", None) or "application/octet-stream"
            return IncomingFile(item.file_id, name, mime, item.file_size, kind)
    return None


def incoming(
    message: Message, user: User, *, event_id: str, me: User | None, edited: bool
) -> Incoming:
    """``message`` from ``user`` as the chat layer's :class:`Incoming`."""
    group = is_group(message)
    topic = _topic(message)
    text = message.text or message.caption or ""
    if message.sticker is not None and not text:
        text = f"[sticker {message.sticker.emoji or ''}]".replace(" ]", "]")
    return Incoming(
        event_id=event_id,
        person=person(user),
        session_key=session_key_of(message),
        target=Target(
            str(message.chat.id),
            str(topic) if topic else "",
            str(message.message_id) if group else "",
            group,
        ),
        reply_to=reply_to_of(message),
        text=text,
        lane=str(message.chat.id),
        message=str(message.message_id),
        addressed=me is not None and addressed(message, me),
        command=parse_command(message, me),
        edited=edited,
        files=tuple(f for f in (incoming_file(message),) if f is not None),
        unsupported=message.content_type in UNSUPPORTED,
    )
