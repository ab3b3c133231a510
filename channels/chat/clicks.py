"""A click on an approval button, on any platform: check the clicker, decide, say what happened.

The platform unpacks its button payload into a :class:`Click` (the approval
id and the choice, nothing else: docs/design.md rule 3) and delivers the
:class:`ClickAnswer` its own way — a toast, an ephemeral message, an
interaction response. The decision goes through the runtime's one
compare-and-set (:meth:`channels.runtime.RuntimeClient.decide`), the same
path as the HTTP API: permission rules, the ``approval_decided``
announcement (which edits the card, wherever it is rendered) and the resume
of a parked turn. A click whose approval is gone entirely (the record
expired out of Redis) strips the card's buttons here, since nothing else will
ever edit that card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from channels.chat.access import AccessPolicy
from channels.chat.cards import CardStore
from channels.chat.errors import ChatError
from channels.chat.log import platform_log
from channels.chat.platform import ChatPlatform, MessageRef, Person
from channels.metrics import Metrics
from channels.runtime import DecideOutcome, DecideResult, Decision, RuntimeClient

__all__ = [
    "DONE",
    "EXPIRED",
    "FAILED",
    "FORBIDDEN",
    "GONE",
    "UNKNOWN_BUTTON",
    "Click",
    "ClickAnswer",
    "ClickHandler",
]

logger = logging.getLogger(__name__)

DONE = {
    Decision.APPROVE: "Approved: it runs once.",
    Decision.REJECT: "Rejected.",
    Decision.SESSION: "Allowed for the rest of this session.",
    Decision.ALWAYS: "Always allowed from now on.",
}
FORBIDDEN = "Only the person who asked, or an approver, can decide this."
EXPIRED = "This approval has expired."
GONE = "This approval is no longer available."
UNKNOWN_BUTTON = "This button is not one of mine."
FAILED = "Something went wrong; please try again."


@dataclass(frozen=True, slots=True)
class Click:
    """One button click, as the platform read it."""

    approval_id: str
    choice: Decision
    person: Person
    card: MessageRef | None = None
    """The card clicked (its buttons go when the approval is gone)."""
    event_id: str = ""
    """The platform's id of the click, when it may deliver one twice ("" when it never does)."""


@dataclass(frozen=True, slots=True)
class ClickAnswer:
    """What to tell the clicker; ``decided`` when this click made the decision."""

    text: str
    decided: bool = False


class ClickHandler:
    """Decides approval clicks for one platform's channel."""

    def __init__(
        self,
        runtime: RuntimeClient,
        platform: ChatPlatform[Any],
        policy: AccessPolicy,
        cards: CardStore,
        metrics: Metrics,
    ) -> None:
        self.runtime = runtime
        self.platform = platform
        self.policy = policy
        self.cards = cards
        self.metrics = metrics
        self.log = platform_log(logger, platform.name)

    async def handle(self, click: Click) -> ClickAnswer | None:
        """Decide, and say what happened; None for a click handled before (answered).

        A click the platform may deliver again (``event_id``) is marked handled
        only once decided: a gateway killed in between leaves it unmarked, and
        the platform's redelivery (Telegram sends an update again until a poll
        confirms it) decides it then — or, had the decision landed, is told
        who decided. Marked first, the redelivery was dropped as a duplicate
        and the click lost. Only the look-up and the mark may raise (a Redis
        error: the platform delivers it again); a failed decision tells the
        clicker to try again.
        """
        if click.event_id and await self.runtime.event_seen(self.platform.name, click.event_id):
            return None
        try:
            answer = await self._decide(click)
        except (RedisError, ChatError):
            self.log.exception("handling a click on %s failed", click.card)
            self.metrics.errors.inc()
            return ClickAnswer(FAILED)
        if click.event_id and not await self.runtime.claim_event(
            self.platform.name, click.event_id
        ):
            return None  # a redelivery of it, handled meanwhile, answered it
        return answer

    async def _decide(self, click: Click) -> ClickAnswer:
        record = await self.runtime.approval(click.approval_id)
        if record is None:
            self.metrics.approval_decisions.inc(outcome=DecideOutcome.NOT_FOUND.value)
            await self._strip(click.card)
            return ClickAnswer(GONE)
        who = self.policy.identity(click.person, record.deciders)
        await self.cards.remember_name(who, click.person.shown)
        result = await self.runtime.decide(click.approval_id, click.choice, who)
        self.metrics.record_decision(result)
        if result.outcome is DecideOutcome.NOT_FOUND:
            await self._strip(click.card)
        return await self._answer(result, click.choice)

    async def _answer(self, result: DecideResult, choice: Decision) -> ClickAnswer:
        if result.outcome is DecideOutcome.DECIDED:
            return ClickAnswer(DONE[choice], decided=True)
        if result.outcome is DecideOutcome.FORBIDDEN:
            return ClickAnswer(FORBIDDEN)
        if result.outcome is DecideOutcome.EXPIRED:
            return ClickAnswer(EXPIRED)
        record = result.record
        if result.outcome is DecideOutcome.ALREADY_DECIDED and record is not None:
            decision = record.decision.value if record.decision else ""
            line = await self.cards.outcome(decision, record.status, record.decided_by or "")
            return ClickAnswer("Already decided: " + line)
        return ClickAnswer(GONE)

    async def _strip(self, card: MessageRef | None) -> None:
        """Remove the buttons of a card whose approval is gone (nothing else will)."""
        if card is None:
            return
        try:
            await self.platform.strip_buttons(card)
        except ChatError as exc:
            self.log.info("could not remove stale buttons: %s", exc)
