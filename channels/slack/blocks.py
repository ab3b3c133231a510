"""What a Slack message is here: mrkdwn text, maybe Block Kit blocks (the chat layer's *part*).

An answer part is mrkdwn ``text`` alone; facio's own notes are escaped text
(where only user mentions, ``<@U…>``, stay Slack syntax); an approval card is
``blocks`` with the ``text`` Slack shows in notifications
(:mod:`.cards`). Every part fits Slack's limits: ``text`` below 40,000
characters, each section block's text at most 3,000 — :data:`MESSAGE_LIMIT`
keeps a part within one section block, so a part can always be drawn as one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from channels.chat.textsplit import split_text
from channels.slack.mrkdwn import escape, render_mrkdwn

__all__ = ["MESSAGE_LIMIT", "SECTION_LIMIT", "SlackPart", "mrkdwn_parts", "plain_parts", "quoted"]

SECTION_LIMIT = 3000
"""Characters of a section block's text (Block Kit)."""
MESSAGE_LIMIT = SECTION_LIMIT
"""Characters of one message part: a section block's worth (Slack's ``text`` takes 40,000,
but recommends 4,000 and truncates longer ones; cards are section blocks)."""
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,30})&gt;")


@dataclass(frozen=True, slots=True)
class SlackPart:
    """One message's worth: its mrkdwn ``text`` and, for cards, its ``blocks``."""

    text: str
    blocks: tuple[dict[str, Any], ...] = field(default=())

    def key(self) -> str:
        return json.dumps([self.text, self.blocks], sort_keys=True, ensure_ascii=False)

    def with_blocks(self, extra: list[dict[str, Any]]) -> SlackPart:
        return SlackPart(self.text, (*self.blocks, *extra))


def mrkdwn_parts(markdown: str) -> list[SlackPart]:
    """The model's Markdown as mrkdwn messages, each within :data:`MESSAGE_LIMIT`."""
    return [SlackPart(text) for text in split_text(render_mrkdwn(markdown), MESSAGE_LIMIT)]


def plain_text(text: str) -> str:
    """facio's own words, escaped; user mentions (``<@U…>``) stay mentions."""
    return _MENTION.sub(r"<@\1>", escape(text))


def plain_parts(text: str) -> list[SlackPart]:
    return [SlackPart(part) for part in split_text(plain_text(text), MESSAGE_LIMIT)] or [
        SlackPart(" ")
    ]


def quoted(text: str, prefix: str = "💭 ") -> SlackPart:
    """The model's thoughts as an italic quote, cut to one part."""
    body = escape(text.strip())
    while True:
        lines = [f"> _{line}_" if line.strip() else ">" for line in body.split("\n")]
        shown = prefix + "\n" + "\n".join(lines)
        if len(shown) <= MESSAGE_LIMIT:
            return SlackPart(shown)
        body = body[: max(len(body) - (len(shown) - MESSAGE_LIMIT) - 2, 0)].rstrip() + "…"
