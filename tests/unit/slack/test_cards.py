"""Approval cards as Block Kit: the layout, the buttons' payload, Block Kit's limits."""

from __future__ import annotations

import pytest

from channels.chat.cards import CardView
from channels.chat.render import approval_buttons
from channels.runtime import Decision
from channels.slack.cards import ApprovalAction, actions_block, draw_card, without_buttons
from tests.fakes.slack_blocks import block_errors


def _all(view: CardView) -> list[dict[str, object]]:
    card = draw_card(view)
    return [*card.blocks, actions_block(approval_buttons("ap_1-x"))]


def test_a_card_shows_the_tool_its_code_and_the_four_buttons() -> None:
    view = CardView("ipybox_execute_ipython_cell", {"code": "if a < b:\n    print(1)"}, "@bob")
    blocks = _all(view)
    assert not block_errors(blocks)
    head, code = blocks[0]["text"]["text"], blocks[1]["text"]["text"]  # type: ignore[index]
    assert head == "🔐 Approval needed: *ipybox_execute_ipython_cell*\nAsked by @bob"
    assert code == "`code`:\n```\nif a &lt; b:\n    print(1)\n```"
    actions = blocks[-1]["elements"]  # type: ignore[index]
    assert [(e["action_id"], e["value"]) for e in actions] == [
        (f"facio.approval.{c}", "ap_1-x") for c in ("approve", "reject", "session", "always")
    ]
    assert [e.get("style") for e in actions] == ["primary", "danger", None, None]


def test_long_arguments_are_cut_with_a_note_and_stay_within_block_kits_limits() -> None:
    view = CardView("shell", {"command": "echo <&>" * 2000, "other": "x" * 5000})
    blocks = _all(view)
    assert not block_errors(blocks)
    context = next(b for b in blocks if b["type"] == "context")
    assert "more characters not shown" in str(context)
    many = CardView("t", {f"code{i}": f"line\n{i}" for i in range(60)})
    assert len(_all(many)) <= 50 and not block_errors(_all(many))


def test_a_decided_card_has_its_outcome_and_no_buttons() -> None:
    card = draw_card(CardView("save_note", {"text": "milk"}, outcome="✅ Approved by @alice"))
    assert card.blocks[-1]["text"]["text"] == "✅ Approved by @alice"  # type: ignore[index]
    assert card.text == "Approval needed: save_note — ✅ Approved by @alice"
    stripped = without_buttons([*card.blocks, actions_block(approval_buttons("a"))])
    assert [b["type"] for b in stripped] == [b["type"] for b in card.blocks]


def test_a_payload_packs_the_id_and_the_choice_and_nothing_else() -> None:
    action = ApprovalAction("abc_123", Decision.SESSION)
    assert ApprovalAction.unpack(action.action_id, "abc_123") == action
    for action_id, value in [
        ("vote", "abc"),
        ("facio.approval.maybe", "abc"),
        ("facio.approval.approve", "a b"),
        ("facio.approval.approve", ""),
        ("facio.approval.approve", "x" * 200),
    ]:
        with pytest.raises(ValueError):
            ApprovalAction.unpack(action_id, value)
