"""An approval as a Telegram message: the card, its four buttons, the outcome line.

The buttons carry a typed, packed payload — :class:`ApprovalClick`, the
approval id and the choice, nothing else (DESIGN.md rule 3) — checked
against Telegram's 64-byte limit when packed. Everything the card shows is
read from the approval record or event, never from the button.

The card shows the tool and its arguments: code-like string arguments
(``code``, ``command``, multi-line text) each in a code block, the rest as
JSON; past :data:`ARGS_BUDGET` UTF-16 units (what Telegram counts: an emoji is
two) the arguments are cut with a note saying how much is not shown, so the
card, and the card with its outcome line, always fit one message.
"""

from __future__ import annotations

import json
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from channels.runtime import Decision
from channels.telegram.formatted import Formatted, TextBuilder, utf16_len, utf16_window_end
from core.events import MAIN_AGENT

__all__ = [
    "ARGS_BUDGET",
    "LABELS",
    "STOPPED_LINE",
    "ApprovalClick",
    "card_text",
    "keyboard",
    "outcome_text",
]

ARGS_BUDGET = 3000
"""UTF-16 units of arguments a card shows; the rest is summarized in a note."""
STOPPED_LINE = "⏹ Stopped before anyone decided, so it was not run."
"""The outcome line of an approval rejected because its turn (or its code) stopped."""

LABELS = {
    Decision.APPROVE: "✅ Approve",
    Decision.REJECT: "❌ Reject",
    Decision.SESSION: "🔁 Allow for session",
    Decision.ALWAYS: "♾ Always allow",
}
_CODE_ARGS = {"code": "python", "command": "bash", "script": "bash", "sql": "sql", "query": None}
_DONE = {
    Decision.APPROVE: "✅ Approved by {who}",
    Decision.SESSION: "✅ Allowed for this session by {who}",
    Decision.ALWAYS: "✅ Always allowed by {who}",
    Decision.REJECT: "❌ Rejected by {who}",
}


class ApprovalClick(CallbackData, prefix="ap"):
    """A button's payload: ``ap:<approval id>:<choice>`` (≤ 64 bytes)."""

    id: str
    choice: Decision


def keyboard(approval_id: str) -> InlineKeyboardMarkup:
    """Approve / Reject on the first row, Allow for session / Always allow on the second."""

    def button(choice: Decision) -> InlineKeyboardButton:
        data = ApprovalClick(id=approval_id, choice=choice).pack()
        return InlineKeyboardButton(text=LABELS[choice], callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(Decision.APPROVE), button(Decision.REJECT)],
            [button(Decision.SESSION), button(Decision.ALWAYS)],
        ]
    )


def _code_language(name: str, value: Any) -> str | bool | None:
    """The language of a code-like argument, None when unknown, False when not code-like."""
    if not isinstance(value, str):
        return False
    if name in _CODE_ARGS:
        return _CODE_ARGS[name]
    return None if "\n" in value else False


def _head(text: str, units: int) -> str:
    """The longest start of ``text`` of at most ``units`` UTF-16 units (whole code points)."""
    return text[: utf16_window_end(text, 0, units)]


def _block(out: TextBuilder, body: str, budget: int, lang: str | None) -> tuple[int, int]:
    """Add a code block cut to ``budget`` UTF-16 units; returns the characters left out
    and the units shown."""
    shown = _head(body, budget)
    if shown.strip():
        start = out.length
        out.add(shown.rstrip("\n"))
        out.span("pre", start, lang=lang)
        out.add("\n")
    return len(body) - len(shown), utf16_len(shown)


def card_text(
    tool_name: str,
    tool_args: dict[str, Any],
    *,
    requested_by: str = "",
    agent_id: str = MAIN_AGENT,
    budget: int = ARGS_BUDGET,
) -> Formatted:
    """The card: what wants to run, with which arguments, asked by whom (and which
    subagent, when it is not the main agent)."""
    out = TextBuilder()
    out.add("🔐 Approval needed: ")
    start = out.length
    out.add(tool_name)
    out.span("bold", start)
    out.add("\n")
    if requested_by:
        out.add(f"Asked by {requested_by}\n")
    if agent_id != MAIN_AGENT:
        out.add(f"From subagent {agent_id}\n")
    left_out = 0
    rest: dict[str, Any] = {}
    for name, value in tool_args.items():
        lang = _code_language(name, value)
        if lang is False:
            rest[name] = value
            continue
        out.add(f"{name}:\n")
        cut, used = _block(out, str(value), budget, lang if isinstance(lang, str) else None)
        left_out += cut
        budget -= used
    if rest or not tool_args:
        body = json.dumps(rest, ensure_ascii=False, indent=2)
        left_out += _block(out, body, budget, "json")[0]
    if left_out:
        start = out.length
        out.add(f"… {left_out:,} more characters not shown (see GET /api/v1/approvals).")
        out.span("italic", start)
    return out.build()


def outcome_text(
    decision: str, status: str, who: str, *, via_api: bool = False, stopped: bool = False
) -> str:
    """The line a decided card ends with: ``✅ Approved by @alice``, ``⌛ Expired…``;
    ``via_api``: the operator decided over the HTTP API (``✅ Approved via the API``);
    ``stopped``: facio rejected it because its turn was stopped (:data:`STOPPED_LINE`)."""
    if status == "expired":
        return "⌛ Expired: nobody decided in time, so it was not run."
    if stopped:
        return STOPPED_LINE
    try:
        choice = Decision(decision)
    except ValueError:
        return f"Decided: {decision or status}"
    if via_api:
        return _DONE[choice].replace("by {who}", "via the API")
    return _DONE[choice].format(who=who)
