"""Approval cards in Discord: the button ids, the Markdown, and that a card always fits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.chat.cards import CardView
from channels.chat.render import approval_buttons
from channels.discord.cards import (
    ApprovalButton,
    custom_id,
    draw_card,
    parse_custom_id,
    view_of,
)
from channels.discord.text import MESSAGE_LIMIT
from channels.runtime import Decision
from core.events import new_approval_id


def test_a_button_carries_only_the_approval_id_and_the_choice() -> None:
    approval = new_approval_id()
    view = view_of(approval_buttons(approval))
    rows = view.to_components()
    ids = [b["custom_id"] for row in rows for b in row["components"]]
    assert ids == [f"ap:{approval}:{c}" for c in ("approve", "reject", "session", "always")]
    assert [len(row["components"]) for row in rows] == [2, 2]
    assert all(len(i) <= 100 for i in ids)
    assert [parse_custom_id(i) for i in ids] == [(approval, c) for c in Decision]
    assert all(isinstance(item, ApprovalButton) for item in view.children)


@pytest.mark.parametrize(
    "value", ["", "ap:x", "ap:abc:maybe", "ap:a b:approve", "poll:1:yes", "ap:abc:approve:x"]
)
def test_anything_else_is_not_one_of_our_buttons(value: str) -> None:
    assert parse_custom_id(value) is None


def test_an_id_that_would_not_fit_discords_100_characters_is_refused() -> None:
    with pytest.raises(ValueError):
        custom_id("x" * 100, Decision.APPROVE)


def test_the_card_shows_the_tool_code_with_its_language_and_the_outcome() -> None:
    view = CardView("ipybox_execute_ipython_cell", {"code": "print('hi')\n```\nrm -rf /"}, "@bob")
    card = draw_card(view).content
    assert card.startswith("🔐 Approval needed: **`ipybox_execute_ipython_cell`**\nAsked by @bob")
    assert "```python\nprint('hi')\n``\u200b`\nrm -rf /\n```" in card  # the fence can't close it
    decided = CardView(view.tool_name, view.tool_args, "@bob", outcome="✅ Approved by @boss")
    assert draw_card(decided).content.endswith("```\n\n✅ Approved by @boss")


_args = st.dictionaries(
    st.text(min_size=1, max_size=20),
    st.text(max_size=3000) | st.integers() | st.lists(st.text(max_size=200), max_size=20),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(_args, st.text(max_size=60))
def test_a_card_always_fits_one_message_with_its_blocks_closed(
    args: dict[str, Any], tool: str
) -> None:
    view = CardView(tool or "tool", args, "@someone", outcome="❌ Rejected by @someone")
    content = draw_card(view).content
    assert len(content) <= MESSAGE_LIMIT
    assert content.endswith("❌ Rejected by @someone")
    assert content.count("```") % 2 == 0
