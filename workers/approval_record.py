"""The approval record and the words around it: decisions and decide outcomes.

An approval is data (docs/design.md rule 3, docs/runtime.md "Approvals"): a Redis
hash holding the unguessable id, the exact tool call, who may decide, a status
and an expiry. Buttons carry only the id and the choice; everything else is
read back from here. :mod:`workers.approvals` stores and decides records; this
module only says what a record is and how it maps to and from a Redis hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.events import new_approval_id
from workers.codec import text

__all__ = [
    "ABANDONED_BY",
    "API_OPERATOR",
    "SCHEDULER_USER",
    "ApprovalRecord",
    "ApprovalStatus",
    "DecideOutcome",
    "DecideResult",
    "Decision",
    "InvalidDecisionError",
    "deciders_of",
    "parse_decision",
]

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]

API_OPERATOR = "api"
"""``decided_by`` of a decision made over the HTTP API (the operator, not a person's id)."""
ABANDONED_BY = "facio"
"""``decided_by`` of an approval rejected because its turn (or the code that asked) stopped."""
SCHEDULER_USER = "facio:scheduler"
"""The user of a scheduled turn nobody asked for in a chat (a config ``cron`` job, a
schedule made over the API). It names no person and never decides an approval: no
platform user id holds a colon (Telegram's and Discord's are numbers, Slack's
``U…``), and :func:`deciders_of` leaves it out, so in a session nobody watches
(``cron:<job>``) only the operator (the API) decides."""


def deciders_of(user_id: str, approvers: Sequence[str]) -> tuple[str, ...]:
    """Who may decide a turn's approvals: the user who started it and the channel's
    approvers, without :data:`SCHEDULER_USER` (nobody but the operator then)."""
    return tuple(u for u in dict.fromkeys((user_id, *approvers)) if u != SCHEDULER_USER)


class Decision(StrEnum):
    """The four choices of docs/design.md "Approval choices" (the button values)."""

    APPROVE = "approve"
    """Run this call, once."""
    REJECT = "reject"
    """Do not run it; the turn ends."""
    SESSION = "session"
    """Run it, and allow this tool for the rest of the session."""
    ALWAYS = "always"
    """Run it, and allow this tool for this bot from now on (persisted)."""

    @property
    def granted(self) -> bool:
        """Whether the tool call may run: every choice but ``reject``."""
        return self is not Decision.REJECT

    @property
    def status(self) -> ApprovalStatus:
        """The record status this decision leaves behind."""
        return "approved" if self.granted else "rejected"


class InvalidDecisionError(ValueError):
    """A decision text that is none of the four choices (the API answers 422)."""


def parse_decision(text: object) -> Decision:
    """Read a decision from a button payload or an API body.

    Takes ``object`` because it usually comes straight out of untrusted JSON;
    anything but one of the four exact words (surrounding blanks and case
    aside) raises :class:`InvalidDecisionError`, a ``ValueError``.
    """
    if isinstance(text, str):
        try:
            return Decision(text.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(d.value for d in Decision)
    shown = repr(text)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"  # never echo a long input back
    raise InvalidDecisionError(f"invalid decision {shown}: expected one of {choices}")


class ApprovalRecord(BaseModel):
    """One approval, as stored at ``keys.approval(approval_id)``.

    ``deciders`` holds user ids as strings: the user who started the turn plus
    the channel's approvers. An empty tuple means nobody but an operator (the
    API's bearer holder) may decide — deny by default; the runtime always puts
    at least the turn's user in it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approval_id: str = Field(
        default_factory=new_approval_id, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )
    """Unguessable (96 random bits); URL-safe so it fits keys, URLs and buttons."""
    session_key: str
    turn_id: str
    tool_call_id: str
    agent_id: str = "main"
    bot: str = "main"
    tool_name: str
    tool_args: dict[str, Any]
    """The exact arguments the decider is shown, and the ones that run."""
    deciders: tuple[str, ...]
    status: ApprovalStatus = "pending"
    decision: Decision | None = None
    created_at: float
    """Epoch seconds."""
    expires_at: float
    """Epoch seconds; from then on the record can only become ``expired``."""
    decided_by: str | None = None
    decided_at: float | None = None
    """Epoch seconds by the Redis server's clock (the decide script sets it)."""
    parkable: bool = True
    """False for approvals raised inside running code: only the process that
    runs that code can take the answer, so the step cannot park."""
    requested_by: str | None = None
    """The user id of the person whose message started the turn (who asked);
    None on records made before it was kept."""

    def to_hash(self) -> dict[str, str]:
        """The Redis hash fields; unset optional fields are left out.

        ``tool_args`` and ``deciders`` are JSON strings (the decide script
        reads ``deciders`` with ``cjson``); floats use ``repr`` so they read
        back exactly.
        """
        fields = {
            "approval_id": self.approval_id,
            "session_key": self.session_key,
            "turn_id": self.turn_id,
            "tool_call_id": self.tool_call_id,
            "agent_id": self.agent_id,
            "bot": self.bot,
            "tool_name": self.tool_name,
            "tool_args": json.dumps(self.tool_args, ensure_ascii=False, separators=(",", ":")),
            "deciders": json.dumps(list(self.deciders), ensure_ascii=False),
            "status": self.status,
            "created_at": repr(self.created_at),
            "expires_at": repr(self.expires_at),
            "parkable": "1" if self.parkable else "0",
        }
        if self.decision is not None:
            fields["decision"] = self.decision.value
        if self.decided_by is not None:
            fields["decided_by"] = self.decided_by
        if self.decided_at is not None:
            fields["decided_at"] = repr(self.decided_at)
        if self.requested_by is not None:
            fields["requested_by"] = self.requested_by
        return fields

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> ApprovalRecord:
        """Build a record from ``HGETALL`` output (bytes or str, either client mode)."""
        h = {text(k): text(v) for k, v in raw.items()}
        data: dict[str, Any] = dict(h)
        data["tool_args"] = json.loads(h["tool_args"])
        data["deciders"] = tuple(json.loads(h["deciders"]))
        data["created_at"] = float(h["created_at"])
        data["expires_at"] = float(h["expires_at"])
        data["parkable"] = h.get("parkable", "1") == "1"
        if "decided_at" in h:
            data["decided_at"] = float(h["decided_at"])
        return cls.model_validate(data)


class DecideOutcome(StrEnum):
    """What a decide attempt did; the values are the decide script's replies.

    The HTTP API maps them to 200 / 404 / 409 / 410 / 403 (docs/design.md).
    """

    DECIDED = "decided"
    NOT_FOUND = "not_found"
    ALREADY_DECIDED = "already_decided"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class DecideResult:
    """The outcome plus the record as it stands after the attempt.

    ``record`` is None only for ``NOT_FOUND``. For ``ALREADY_DECIDED`` it shows
    the winning decision, so a late clicker can be told who decided what.
    """

    outcome: DecideOutcome
    record: ApprovalRecord | None
    expired_now: bool = False
    """This attempt found the record past due and expired it (an ``EXPIRED``
    outcome that changed the record: the caller must announce the expiry and
    resume the parked turn, as the sweeper would have)."""

    @property
    def decided(self) -> bool:
        """True when this attempt was the one that decided the approval."""
        return self.outcome is DecideOutcome.DECIDED
