"""Approval cards, platform-neutral: what a card says, its outcome line, where it is.

A card shows the tool and its arguments (docs/design.md rule 3: everything is read
from the approval event or record, never from a button): code-like string
arguments (``code``, ``command``, multi-line text) each in a code block with
its language, the rest as JSON; past the platform's budget
(:attr:`~channels.chat.platform.Limits.card_arguments`, in its own units)
the arguments are cut with a note saying how much is not shown, so the card,
with its outcome line, always fits one message. :func:`card_content` lays
this out; the platform draws it (entities, Block Kit, Markdown).

An ``approval_decided`` event may come from a click in this gateway, another
gateway, the HTTP API or the expiry sweeper, possibly after a restart: each
card's location is therefore kept in Redis (``facio:<platform>:card:{id}``)
until a day after the approval expires, with how the asker was named.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

from channels.runtime import ABANDONED_BY, API_OPERATOR, Decision, RuntimeClient, text
from core.events import MAIN_AGENT

__all__ = [
    "CARD_MARGIN",
    "LABELS",
    "NAME_TTL",
    "STOPPED_LINE",
    "ArgBlock",
    "CardContent",
    "CardLocation",
    "CardStore",
    "CardView",
    "card_content",
    "outcome_text",
]

CARD_MARGIN = 24 * 3600
"""Seconds a card's location is kept after its approval expires."""
NAME_TTL = 7 * 24 * 3600
STOPPED_LINE = "⏹ Stopped before anyone decided, so it was not run."
"""The outcome line of an approval rejected because its turn (or its code) stopped."""
EXPIRED_LINE = "⌛ Expired: nobody decided in time, so it was not run."

LABELS = {
    Decision.APPROVE: "✅ Approve",
    Decision.REJECT: "❌ Reject",
    Decision.SESSION: "🔁 Allow for session",
    Decision.ALWAYS: "♾ Always allow",
}
"""The four buttons, in their order: Approve and Reject first, then the two that grant more."""
_CODE_ARGS = {"code": "python", "command": "bash", "script": "bash", "sql": "sql", "query": None}
_DONE = {
    Decision.APPROVE: "✅ Approved by {who}",
    Decision.SESSION: "✅ Allowed for this session by {who}",
    Decision.ALWAYS: "✅ Always allowed by {who}",
    Decision.REJECT: "❌ Rejected by {who}",
}


@dataclass(frozen=True, slots=True)
class CardView:
    """What a card shows: the call, who asked, and — once decided — the outcome line."""

    tool_name: str
    tool_args: dict[str, Any]
    requested_by: str = ""
    """How the asker is named (groups only: in a private chat it is obvious)."""
    agent_id: str = MAIN_AGENT
    outcome: str = ""
    """The outcome line; "" while the card waits for a decision (and has its buttons)."""


@dataclass(frozen=True, slots=True)
class ArgBlock:
    """One code block of a card: a code-like argument, or the other arguments as JSON."""

    name: str
    """The argument's name; "" for the JSON block of the rest."""
    body: str
    """"" when nothing of it fits (only its name is shown)."""
    language: str | None


@dataclass(frozen=True, slots=True)
class CardContent:
    """A card laid out; the platform draws each piece in its format."""

    title: str
    """``🔐 Approval needed: `` and the tool's name (bold where the platform can)."""
    tool_name: str
    lines: tuple[str, ...]
    """``Asked by @bob``, ``From subagent sub-…``."""
    blocks: tuple[ArgBlock, ...]
    note: str
    """What was cut (italic), or ""."""
    outcome: str


def _code_language(name: str, value: Any) -> str | bool | None:
    """The language of a code-like argument, None when unknown, False when not code-like."""
    if not isinstance(value, str):
        return False
    if name in _CODE_ARGS:
        return _CODE_ARGS[name]
    return None if "\n" in value else False


def head(text: str, budget: int, measure: Callable[[str], int]) -> str:
    """The longest start of ``text`` that ``measure`` counts within ``budget`` (whole code
    points), found by bisection: measures are monotonic in the length."""
    if measure(text) <= budget:
        return text
    low, high = 0, min(len(text), max(budget, 0))
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def card_content(view: CardView, budget: int, measure: Callable[[str], int]) -> CardContent:
    """Lay ``view`` out, cutting the arguments to ``budget`` units (see the module docstring)."""
    lines: list[str] = []
    if view.requested_by:
        lines.append(f"Asked by {view.requested_by}")
    if view.agent_id != MAIN_AGENT:
        lines.append(f"From subagent {view.agent_id}")
    blocks: list[ArgBlock] = []
    left_out = 0
    rest: dict[str, Any] = {}
    for name, value in view.tool_args.items():
        lang = _code_language(name, value)
        if lang is False:
            rest[name] = value
            continue
        body = str(value)
        shown = head(body, budget, measure)
        left_out += len(body) - len(shown)
        budget -= measure(shown)
        language = lang if isinstance(lang, str) else None
        blocks.append(ArgBlock(name, shown.rstrip("\n") if shown.strip() else "", language))
    if rest or not view.tool_args:
        body = json.dumps(rest, ensure_ascii=False, indent=2)
        shown = head(body, budget, measure)
        left_out += len(body) - len(shown)
        if shown.strip():
            blocks.append(ArgBlock("", shown.rstrip("\n"), "json"))
    note = (
        f"… {left_out:,} more characters not shown (see GET /api/v1/approvals)." if left_out else ""
    )
    return CardContent(
        "🔐 Approval needed: ", view.tool_name, tuple(lines), tuple(blocks), note, view.outcome
    )


def outcome_text(
    decision: str, status: str, who: str, *, via_api: bool = False, stopped: bool = False
) -> str:
    """The line a decided card ends with: ``✅ Approved by @alice``, ``⌛ Expired…``;
    ``via_api``: the operator decided over the HTTP API (``✅ Approved via the API``);
    ``stopped``: facio rejected it because its turn was stopped (:data:`STOPPED_LINE`)."""
    if status == "expired":
        return EXPIRED_LINE
    if stopped:
        return STOPPED_LINE
    try:
        choice = Decision(decision)
    except ValueError:
        return f"Decided: {decision or status}"
    if via_api:
        return _DONE[choice].replace("by {who}", "via the API")
    return _DONE[choice].format(who=who)


@dataclass(frozen=True, slots=True)
class CardLocation:
    """Where a card is: its chat and message, its thread, and how its asker was named."""

    chat: str
    message: str
    thread: str = ""
    requested_by: str = ""


@dataclass
class CardStore:
    """Cards' locations and clickers' display names, in Redis, for one platform."""

    runtime: RuntimeClient
    platform: str
    clock: Callable[[], float] = field(default=time.time)

    @property
    def redis(self) -> Redis:
        return self.runtime.redis

    def _card(self, approval_id: str) -> str:
        return self.runtime.key(self.platform, "card", approval_id)

    def _name(self, identity: str) -> str:
        return self.runtime.key(self.platform, "name", identity)

    async def put(self, approval_id: str, card: CardLocation, expires_at: float) -> None:
        fields = {
            "chat_id": card.chat,
            "message_id": card.message,
            "thread_id": card.thread,
            "requested_by": card.requested_by,
        }
        ttl = max(int(expires_at - self.clock()), 0) + CARD_MARGIN
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._card(approval_id), mapping=fields)
            pipe.expire(self._card(approval_id), ttl)
            await pipe.execute()

    async def get(self, approval_id: str) -> CardLocation | None:
        raw = await cast(Any, self.redis.hgetall(self._card(approval_id)))
        if not raw:
            return None
        fields = {text(k): text(v) for k, v in raw.items()}
        return CardLocation(
            fields["chat_id"],
            fields["message_id"],
            fields.get("thread_id", ""),
            fields.get("requested_by", ""),
        )

    async def remember_name(self, identity: str, shown: str) -> None:
        """How to show ``identity`` (a ``decided_by`` value) on a card."""
        if identity != shown:
            await self.redis.set(self._name(identity), shown, ex=NAME_TTL)

    async def name_of(self, identity: str) -> str:
        """``@alice`` for a remembered id; ``@usernames`` as they are; else ``user <id>``."""
        if identity.startswith("@"):
            return identity
        remembered = await self.redis.get(self._name(identity))
        return text(remembered) if remembered is not None else f"user {identity}"

    async def outcome(self, decision: str, status: str, decided_by: str) -> str:
        """The card's outcome line for a decision by ``decided_by`` (a person, the API, or
        facio itself when the turn stopped)."""
        if decided_by == API_OPERATOR:
            return outcome_text(decision, status, "", via_api=True)
        if decided_by == ABANDONED_BY:
            return outcome_text(decision, status, "", stopped=True)
        return outcome_text(decision, status, await self.name_of(decided_by))
