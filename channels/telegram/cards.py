"""An approval card as a Telegram message: entities for its text, inline buttons.

The buttons carry a typed, packed payload — :class:`ApprovalClick`, the
approval id and the choice, nothing else (docs/design.md rule 3) — checked
against Telegram's 64-byte limit when packed. The text is the shared
layout (:func:`channels.chat.cards.card_content`) drawn with entities: the
tool's name in bold, each argument block a ``pre`` entity with its
language, the note in italic; cut to :data:`ARGS_BUDGET` UTF-16 units (what
Telegram counts: an emoji is two) so the card and its outcome line always fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from channels.chat.cards import CardView, card_content
from channels.chat.platform import Button
from channels.runtime import Decision
from channels.telegram.formatted import Formatted, TextBuilder, utf16_len

__all__ = ["ARGS_BUDGET", "ApprovalClick", "draw_card", "keyboard"]

ARGS_BUDGET = 3000
"""UTF-16 units of arguments a card shows; the rest is summarized in a note."""


class ApprovalClick(CallbackData, prefix="ap"):
    """A button's payload: ``ap:<approval id>:<choice>`` (≤ 64 bytes)."""

    id: str
    choice: Decision


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    """The buttons as an inline keyboard, each carrying its packed :class:`ApprovalClick`."""

    def button(item: Button) -> InlineKeyboardButton:
        data = ApprovalClick(id=item.approval_id, choice=item.choice).pack()
        return InlineKeyboardButton(text=item.label, callback_data=data)

    return InlineKeyboardMarkup(inline_keyboard=[[button(b) for b in row] for row in rows])


def draw_card(view: CardView, budget: int = ARGS_BUDGET) -> Formatted:
    """The card's text with its entities (and its outcome line once decided)."""
    content = card_content(view, budget, utf16_len)
    out = TextBuilder()
    out.add(content.title)
    start = out.length
    out.add(content.tool_name)
    out.span("bold", start)
    out.add("\n")
    for line in content.lines:
        out.add(f"{line}\n")
    for block in content.blocks:
        if block.name:
            out.add(f"{block.name}:\n")
        if block.body:
            start = out.length
            out.add(block.body)
            out.span("pre", start, lang=block.language)
            out.add("\n")
    if content.note:
        start = out.length
        out.add(content.note)
        out.span("italic", start)
    card = out.build()
    return card + Formatted("\n\n" + content.outcome) if content.outcome else card
