"""An approval card as a Discord message: Markdown text and four persistent buttons.

Each button is an :class:`ApprovalButton`, a discord.py ``DynamicItem``: its
``custom_id`` is ``ap:<approval id>:<choice>`` — the approval id and the
choice, nothing else (docs/design.md rule 3), checked against Discord's 100
characters when built. Because the template is registered on the client
(``add_dynamic_items``), a click on a card sent before a restart still
routes: discord.py rebuilds the item from the ``custom_id`` alone
(:meth:`ApprovalButton.from_custom_id`) and calls its callback, which hands
the click to the channel (:class:`ClickSink`). A view of dynamic items only is
never kept in discord.py's view store, so cards cost no memory.

The text is the shared layout (:func:`channels.chat.cards.card_content`) in
Discord's Markdown: the tool's name in bold, each argument block fenced with
its language, the note in italics, cut to :data:`ARGS_BUDGET` characters so
the card and its outcome line always fit one message. A fence inside an
argument is broken with a zero-width space so it cannot end the block early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import discord

from channels.chat.cards import CardView, card_content
from channels.chat.platform import Button
from channels.discord.text import MESSAGE_LIMIT, DiscordText
from channels.runtime import Decision

__all__ = [
    "ARGS_BUDGET",
    "CUSTOM_ID",
    "CUSTOM_ID_LIMIT",
    "ApprovalButton",
    "ClickSink",
    "custom_id",
    "draw_card",
    "parse_custom_id",
    "view_of",
]

ARGS_BUDGET = 1500
"""Characters of arguments a card shows; the rest is summarized in a note."""
CUSTOM_ID_LIMIT = 100
CUSTOM_ID = r"ap:(?P<id>[A-Za-z0-9_-]{1,64}):(?P<choice>approve|reject|session|always)"
"""The template of an approval button's ``custom_id``."""
_PATTERN = re.compile(CUSTOM_ID)
_STYLES = {
    Decision.APPROVE: discord.ButtonStyle.success,
    Decision.REJECT: discord.ButtonStyle.danger,
    Decision.SESSION: discord.ButtonStyle.secondary,
    Decision.ALWAYS: discord.ButtonStyle.secondary,
}
_FENCE = "```"


class ClickSink(Protocol):
    """Who decides a click (the channel): answers the interaction within its window."""

    async def approval_click(
        self, interaction: discord.Interaction[Any], approval_id: str, choice: Decision
    ) -> None: ...


def custom_id(approval_id: str, choice: Decision) -> str:
    """``ap:<id>:<choice>``; a ``ValueError`` if it is not one of ours or too long."""
    value = f"ap:{approval_id}:{choice.value}"
    if len(value) > CUSTOM_ID_LIMIT or not _PATTERN.fullmatch(value):
        raise ValueError(f"not a valid approval button id: {value[:120]!r}")
    return value


def parse_custom_id(value: str) -> tuple[str, Decision] | None:
    """The approval id and choice of one of our buttons, None for anything else."""
    found = _PATTERN.fullmatch(value)
    if found is None:
        return None
    return found["id"], Decision(found["choice"])


class ApprovalButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID):
    """One approval button; the sink is found on the client that received the click."""

    def __init__(self, approval_id: str, choice: Decision, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(
                label=label or choice.value.title(),
                custom_id=custom_id(approval_id, choice),
                style=_STYLES[choice],
            )
        )
        self.approval_id = approval_id
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ApprovalButton:
        label = item.label if isinstance(item, discord.ui.Button) else ""
        return cls(match["id"], Decision(match["choice"]), label or "")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        sink = getattr(interaction.client, "clicks", None)
        if sink is None:  # a client that is not facio's: nothing to decide with
            return
        await sink.approval_click(interaction, self.approval_id, self.choice)


def view_of(rows: Sequence[Sequence[Button]]) -> discord.ui.View:
    """The buttons as a view of :class:`ApprovalButton` s, one action row per row."""
    view = discord.ui.View(timeout=None)
    for index, buttons in enumerate(rows):
        for button in buttons:
            item = ApprovalButton(button.approval_id, button.choice, button.label)
            item.row = index
            view.add_item(item)
    return view


def _fenced(body: str) -> str:
    return body.replace(_FENCE, "``\u200b`")


def draw_card(view: CardView, budget: int = ARGS_BUDGET) -> DiscordText:
    """The card's Markdown (and its outcome line once decided), at most one message."""
    content = card_content(view, budget, len)
    name = content.tool_name.replace("`", "'")
    lines = [f"{content.title}**`{name}`**"]
    lines += [discord.utils.escape_markdown(line) for line in content.lines]
    for block in content.blocks:
        if block.name:
            lines.append(f"{discord.utils.escape_markdown(block.name)}:")
        if block.body:
            lines.append(f"{_FENCE}{block.language or ''}\n{_fenced(block.body)}\n{_FENCE}")
    if content.note:
        lines.append(f"*{content.note}*")
    text = "\n".join(lines)
    if content.outcome:
        text += "\n\n" + content.outcome
    return DiscordText(text[:MESSAGE_LIMIT])
