"""Who may talk to the bot, when it answers in groups, and who a clicker is.

Deny by default (DESIGN.md rule 8): ``allowFrom`` lists user ids and
``@usernames`` (case-insensitive); nobody else gets an agent run. In groups
the bot answers a message only when it is addressed — a mention of the bot
(``@bot`` or a text mention), a reply to one of its messages, a command —
unless ``groupPolicy`` is ``open``.

Approvals: the record's ``deciders`` hold the turn's user id plus the
configured ``approvers`` exactly as written (ids or ``@usernames``); the
decide script compares exact strings, so :meth:`AccessPolicy.identity` hands
it the entry that names the clicker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiogram.types import Message, MessageEntity, User

__all__ = ["AccessPolicy", "display_name"]


def display_name(user: User) -> str:
    """``@username``, else the full name, else the id."""
    if user.username:
        return f"@{user.username}"
    return user.full_name.strip() or str(user.id)


def _matches(entry: str, user: User) -> bool:
    if entry.startswith("@"):
        return bool(user.username) and entry[1:].lower() == str(user.username).lower()
    return entry == str(user.id)


class AccessPolicy:
    """The channel's ``allowFrom``, ``approvers`` and ``groupPolicy``."""

    def __init__(
        self, allow_from: Sequence[str], approvers: Sequence[str], group_policy: str
    ) -> None:
        self.allow_from = tuple(e.strip() for e in allow_from if e.strip())
        self.approvers = tuple(e.strip() for e in approvers if e.strip())
        self.open_groups = group_policy == "open"

    def allowed(self, user: User) -> bool:
        """May this person talk to the bot?"""
        return any(_matches(entry, user) for entry in self.allow_from)

    @staticmethod
    def identity(user: User, deciders: Iterable[str]) -> str:
        """The ``deciders`` entry naming ``user``, or their id (which the script then refuses)."""
        for entry in deciders:
            if _matches(entry, user):
                return entry
        return str(user.id)

    def addressed(self, message: Message, me: User) -> bool:
        """In a group: is this message for the bot?"""
        if self.open_groups:
            return True
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
