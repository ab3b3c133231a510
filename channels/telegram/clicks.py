"""A click on an approval button: check the clicker, decide, answer.

The decision goes through :func:`workers.decisions.decide` — the same path
as the HTTP API: the compare-and-set in Redis, the permission rules, the
``approval_decided`` announcement (which edits the card, wherever it is
rendered) and the resume of a parked turn. The click itself is always
answered (``answerCallbackQuery``), so the button never spins forever:
with the outcome, or why nothing happened — not allowed, already decided,
expired, unknown — in the background: a flood wait on the answer must not
hold the intake, and one longer than a few seconds is not waited out at all
(Telegram takes an answer only shortly after the click). A button whose
approval is gone entirely (the record expired out of Redis) loses its
buttons here, since nothing else will ever edit that card.
"""

from __future__ import annotations

import logging

from aiogram.types import CallbackQuery, Message
from redis.exceptions import RedisError

from channels.context import GatewayContext
from channels.runtime import DecideOutcome, DecideResult, Decision
from channels.telegram.access import AccessPolicy, display_name
from channels.telegram.approvals import ApprovalClick
from channels.telegram.cards import CardStore
from channels.telegram.errors import TelegramChannelError
from channels.telegram.lanes import Background
from channels.telegram.send import Sender

__all__ = ["ClickHandler"]

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


class ClickHandler:
    """Handles ``callback_query`` updates from approval cards."""

    def __init__(
        self,
        ctx: GatewayContext,
        sender: Sender,
        policy: AccessPolicy,
        cards: CardStore,
        background: Background,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.policy = policy
        self.cards = cards
        self.background = background

    async def handle(self, query: CallbackQuery) -> None:
        """Decide, and answer in the background; the answer is sent whatever happens."""
        answer = FAILED
        try:
            answer = await self._click(query)
        except (RedisError, TelegramChannelError):
            logger.exception("telegram: handling click %s failed", query.id)
            self.ctx.metrics.errors.inc()
        finally:
            self.background.spawn(self._reply(query.id, answer), f"telegram-answer-{query.id}")

    async def _reply(self, query_id: str, answer: str) -> None:
        try:
            await self.sender.answer(query_id, answer)
        except TelegramChannelError as exc:
            logger.warning("telegram: answering click %s failed: %s", query_id, exc)

    async def _click(self, query: CallbackQuery) -> str:
        try:
            click = ApprovalClick.unpack(query.data or "")
        except (TypeError, ValueError):
            return UNKNOWN_BUTTON
        record = await self.ctx.runtime.approval(click.id)
        if record is None:
            self.ctx.metrics.approval_decisions.inc(outcome=DecideOutcome.NOT_FOUND.value)
            await self._strip(query.message)
            return GONE
        who = self.policy.identity(query.from_user, record.deciders)
        await self.cards.remember_name(who, display_name(query.from_user))
        result = await self.ctx.runtime.decide(click.id, click.choice, who)
        self.ctx.metrics.record_decision(result)
        if result.outcome is DecideOutcome.NOT_FOUND:
            await self._strip(query.message)
        return await self._answer(result, click.choice)

    async def _answer(self, result: DecideResult, choice: Decision) -> str:
        if result.outcome is DecideOutcome.DECIDED:
            return DONE[choice]
        if result.outcome is DecideOutcome.FORBIDDEN:
            return FORBIDDEN
        if result.outcome is DecideOutcome.EXPIRED:
            return EXPIRED
        record = result.record
        if result.outcome is DecideOutcome.ALREADY_DECIDED and record is not None:
            decision = record.decision.value if record.decision else ""
            line = await self.cards.outcome(decision, record.status, record.decided_by or "")
            return "Already decided: " + line
        return GONE

    async def _strip(self, message: Message | object | None) -> None:
        """Remove the buttons of a card whose approval is gone (nothing else will)."""
        if not isinstance(message, Message):
            return
        try:
            await self.sender.remove_buttons(message.chat.id, message.message_id)
        except TelegramChannelError as exc:
            logger.info("telegram: could not remove stale buttons: %s", exc)
