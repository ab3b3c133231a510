"""Approval buttons (typed, packed, ≤ 64 bytes) and the card's text."""

from __future__ import annotations

from typing import Any

import pytest

from channels.chat.cards import STOPPED_LINE, CardView, outcome_text
from channels.chat.render import approval_buttons
from channels.runtime import Decision
from channels.telegram.cards import ARGS_BUDGET, ApprovalClick, draw_card
from channels.telegram.cards import keyboard as draw_keyboard
from channels.telegram.formatted import MESSAGE_LIMIT, Formatted, utf16_len
from core.events import new_approval_id


def card_text(tool_name: str, tool_args: dict[str, Any], **view: Any) -> Formatted:
    return draw_card(CardView(tool_name, tool_args, **view))


def keyboard(approval_id: str) -> Any:
    return draw_keyboard(approval_buttons(approval_id))


def test_buttons_carry_only_the_id_and_the_choice() -> None:
    approval_id = new_approval_id()
    markup = keyboard(approval_id)
    datas = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert datas == [f"ap:{approval_id}:{d}" for d in ("approve", "reject", "session", "always")]
    assert all(data is not None and len(data.encode()) <= 64 for data in datas)
    assert ApprovalClick.unpack(f"ap:{approval_id}:session") == ApprovalClick(
        id=approval_id, choice=Decision.SESSION
    )


@pytest.mark.parametrize(
    "data", ["", "ap", "ap:x", "ap:x:maybe", "xx:abc:approve", "ap:a:b:approve", "ap::approve:"]
)
def test_foreign_or_broken_payloads_do_not_unpack(data: str) -> None:
    with pytest.raises((TypeError, ValueError)):
        ApprovalClick.unpack(data)


def test_a_payload_over_64_bytes_is_refused_when_packed() -> None:
    with pytest.raises(ValueError, match="too long"):
        ApprovalClick(id="x" * 60, choice=Decision.APPROVE).pack()


def test_code_goes_in_a_code_block_and_the_rest_as_json() -> None:
    card = card_text(
        "ipybox_execute_ipython_cell",
        {"code": "import os\nprint(os.getcwd())", "timeout": 30},
        requested_by="@bob",
    )
    assert card.text.startswith("🔐 Approval needed: ipybox_execute_ipython_cell\nAsked by @bob")
    blocks = [(e.language, card.text[e.offset : e.end]) for e in card.entities if e.type == "pre"]
    assert blocks == [
        ("python", "import os\nprint(os.getcwd())"),
        ("json", '{\n  "timeout": 30\n}'),
    ]


def test_a_subagents_card_names_the_subagent() -> None:
    card = card_text("save_note", {"text": "x"}, agent_id="sub-1a2b3c4d")
    assert card.text.startswith("🔐 Approval needed: save_note\nFrom subagent sub-1a2b3c4d\n")
    assert "subagent" not in card_text("save_note", {"text": "x"}).text


def test_huge_arguments_are_cut_with_a_note() -> None:
    card = card_text("shell", {"command": "x" * 10_000})
    (pre,) = [e for e in card.entities if e.type == "pre"]
    assert pre.length == ARGS_BUDGET and pre.language == "bash"
    assert card.text.endswith("… 7,000 more characters not shown (see GET /api/v1/approvals).")


def test_outcome_lines() -> None:
    assert outcome_text("approve", "approved", "@alice") == "✅ Approved by @alice"
    assert outcome_text("session", "approved", "@boss") == "✅ Allowed for this session by @boss"
    assert outcome_text("always", "approved", "Al") == "✅ Always allowed by Al"
    assert outcome_text("reject", "rejected", "@alice") == "❌ Rejected by @alice"
    assert outcome_text("approve", "approved", "", via_api=True) == "✅ Approved via the API"
    assert outcome_text("reject", "rejected", "", via_api=True) == "❌ Rejected via the API"
    assert outcome_text("expired", "expired", "") == (
        "⌛ Expired: nobody decided in time, so it was not run."
    )


def test_the_budget_counts_utf16_units_so_a_card_always_fits_one_message() -> None:
    card = card_text("save_note", {"text": "😀" * 5000}, requested_by="@alice")
    (pre,) = [e for e in card.entities if e.type == "pre"]
    shown = card.text[pre.offset : pre.end]
    assert utf16_len(shown) <= ARGS_BUDGET and "😀😀" in shown
    assert utf16_len(card.text + "\n\n✅ Always allowed by @somebody_long_name") <= MESSAGE_LIMIT


def test_a_stopped_turns_approval_says_stopped() -> None:
    assert outcome_text("reject", "rejected", "", stopped=True) == STOPPED_LINE
    assert STOPPED_LINE == "⏹ Stopped before anyone decided, so it was not run."
