"""An approval card as Block Kit, and its buttons' typed payload.

The card is the shared layout (:func:`channels.chat.cards.card_content`)
drawn as sections: the title with the tool's name in bold and who asked,
each argument block a mrkdwn code block in a section of its own, the note of
what was cut as a context line, the outcome line once decided, and — while
it waits — an ``actions`` block with the four buttons. Arguments are cut to
:data:`ARGS_BUDGET` characters as Slack counts them after escaping (``<`` is
four), so each section stays below Block Kit's 3,000 and the card below its
50 blocks.

A button carries only what :class:`ApprovalAction` packs — the choice in its
``action_id`` (``facio.approval.<choice>``, unique within the block) and the
approval id as its ``value`` — never its label (docs/design.md rule 3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels.chat.cards import CardView, card_content
from channels.chat.platform import Button
from channels.runtime import Decision
from channels.slack.blocks import SECTION_LIMIT, SlackPart
from channels.slack.mrkdwn import code_block, escape

__all__ = [
    "ACTION_PREFIX",
    "ARGS_BUDGET",
    "ApprovalAction",
    "actions_block",
    "draw_card",
    "without_buttons",
]

ARGS_BUDGET = 2500
"""Characters (escaped) of arguments a card shows; the rest is summarized in a note."""
ACTION_PREFIX = "facio.approval."
MAX_ARG_BLOCKS = 40
"""Argument sections a card shows, at most (Block Kit allows 50 blocks in all)."""
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_STYLE = {Decision.APPROVE: "primary", Decision.REJECT: "danger"}


def measure(text: str) -> int:
    """Characters as the card shows them (escaped)."""
    return len(escape(text))


@dataclass(frozen=True, slots=True)
class ApprovalAction:
    """A button's payload: the approval id and the choice, nothing else."""

    approval_id: str
    choice: Decision

    @property
    def action_id(self) -> str:
        return ACTION_PREFIX + self.choice.value

    @classmethod
    def unpack(cls, action_id: str, value: str) -> ApprovalAction:
        """The payload of a clicked button; ``ValueError`` when it is not one of ours."""
        if not action_id.startswith(ACTION_PREFIX) or not _ID.match(value):
            raise ValueError("not an approval button")
        return cls(value, Decision(action_id.removeprefix(ACTION_PREFIX)))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def actions_block(rows: Sequence[Sequence[Button]]) -> dict[str, Any]:
    """The buttons in one ``actions`` block, each carrying its :class:`ApprovalAction`."""
    elements: list[dict[str, Any]] = []
    for button in (b for row in rows for b in row):
        action = ApprovalAction(button.approval_id, button.choice)
        element: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": button.label, "emoji": True},
            "action_id": action.action_id,
            "value": action.approval_id,
        }
        if button.choice in _STYLE:
            element["style"] = _STYLE[button.choice]
        elements.append(element)
    return {"type": "actions", "block_id": "facio_approval", "elements": elements}


def draw_card(view: CardView, budget: int = ARGS_BUDGET) -> SlackPart:
    """The card's blocks (and its outcome once decided); the buttons are added on send."""
    content = card_content(view, budget, measure)
    header = content.title + f"*{escape(content.tool_name)}*"
    lines = [escape(line) for line in content.lines]
    blocks = [_section("\n".join([header, *lines]))]
    for block in content.blocks[:MAX_ARG_BLOCKS]:
        label = f"`{escape(block.name)}`:\n" if block.name else ""
        body = code_block(block.body) if block.body else "_(not shown)_"
        blocks.append(_section(label + body))
    notes = [content.note] if content.note else []
    if len(content.blocks) > MAX_ARG_BLOCKS:
        notes.append(f"{len(content.blocks) - MAX_ARG_BLOCKS} more arguments not shown.")
    if notes:
        text = " ".join(f"_{escape(n)}_" for n in notes)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    if content.outcome:
        blocks.append(_section(escape(content.outcome)))
    fallback = f"Approval needed: {view.tool_name}"
    if content.outcome:
        fallback += f" — {content.outcome}"
    return SlackPart(escape(fallback)[:SECTION_LIMIT], tuple(blocks))


def without_buttons(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` without their ``actions`` blocks (a card whose approval is gone)."""
    return [dict(b) for b in blocks if b.get("type") != "actions"]
