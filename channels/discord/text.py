"""Discord message text: Markdown as written, split at 2,000 characters, mentions made safe.

Discord renders Markdown itself (bold, italics, code spans and fenced blocks
with languages, quotes, lists, headings, links), so the model's answer is
sent as it is, cut by :func:`channels.chat.textsplit.split_text` into
messages of at most :data:`MESSAGE_LIMIT` characters without leaving a code
block open. facio's own words (:func:`plain`) are escaped, so a config key
like ``allow_from`` never turns italic. Pings are not a matter of text here:
every message goes with ``allowed_mentions`` that allow no ``@everyone``, no
role and no user pings (:data:`SAFE_MENTIONS`), whatever the model wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from channels.chat.textsplit import split_text

__all__ = [
    "MESSAGE_LIMIT",
    "SAFE_MENTIONS",
    "DiscordText",
    "markdown_parts",
    "plain_parts",
    "quoted_part",
]

MESSAGE_LIMIT = 2000
"""Characters of a message's ``content`` (Discord counts code points)."""
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=True)
"""No ``@everyone``/``@here``, no role or user pings from anything the bot writes; a reply
still notifies the person it answers."""


@dataclass(frozen=True, slots=True)
class DiscordText:
    """One message's content (at most :data:`MESSAGE_LIMIT` characters)."""

    content: str

    def key(self) -> str:
        return self.content


def markdown_parts(text: str) -> list[DiscordText]:
    """The model's Markdown as messages; an empty answer is no message at all."""
    return [DiscordText(part) for part in split_text(text, MESSAGE_LIMIT)]


def plain_parts(text: str) -> list[DiscordText]:
    """facio's own words, shown as written (Markdown characters escaped)."""
    escaped = discord.utils.escape_markdown(text)
    return [DiscordText(part) for part in split_text(escaped, MESSAGE_LIMIT)]


def quoted_part(text: str, prefix: str = "💭 ") -> DiscordText:
    """``text`` as one block quote (``>>>``), cut to one message."""
    head = ">>> " + prefix
    body = text[: MESSAGE_LIMIT - len(head)]
    return DiscordText(head + body)
