"""Where each approval card is, and how to name the people who click, in Redis.

An ``approval_decided`` event may come from a click in this gateway, one in
another gateway, the HTTP API or the expiry sweeper, possibly after a
restart: the card's chat and message id are therefore kept in Redis
(``facio:telegram:card:{id}``) until a day after the approval expires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from channels.runtime import ABANDONED_BY, API_OPERATOR, text
from channels.telegram import keys
from channels.telegram.approvals import outcome_text

__all__ = ["CARD_MARGIN", "NAME_TTL", "Card", "CardStore"]

CARD_MARGIN = 24 * 3600
"""Seconds a card's location is kept after its approval expires."""
NAME_TTL = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Card:
    chat_id: int
    message_id: int
    thread_id: int | None = None
    requested_by: str = ""


class CardStore:
    """Approval cards' locations and clickers' display names."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def put(self, approval_id: str, card: Card, expires_at: float) -> None:
        fields = {
            "chat_id": str(card.chat_id),
            "message_id": str(card.message_id),
            "thread_id": str(card.thread_id or ""),
            "requested_by": card.requested_by,
        }
        ttl = max(int(expires_at - time.time()), 0) + CARD_MARGIN
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.card(approval_id), mapping=fields)
            pipe.expire(keys.card(approval_id), ttl)
            await pipe.execute()

    async def get(self, approval_id: str) -> Card | None:
        raw = await cast(Any, self.redis.hgetall(keys.card(approval_id)))
        if not raw:
            return None
        fields = {text(k): text(v) for k, v in raw.items()}
        thread = fields.get("thread_id")
        return Card(
            int(fields["chat_id"]),
            int(fields["message_id"]),
            int(thread) if thread else None,
            fields.get("requested_by", ""),
        )

    async def remember_name(self, identity: str, shown: str) -> None:
        """How to show ``identity`` (a ``decided_by`` value) on a card."""
        if identity != shown:
            await self.redis.set(keys.name(identity), shown, ex=NAME_TTL)

    async def name_of(self, identity: str) -> str:
        """``@alice`` for a remembered id; ``@usernames`` as they are; else ``user <id>``."""
        if identity.startswith("@"):
            return identity
        remembered = await self.redis.get(keys.name(identity))
        return text(remembered) if remembered is not None else f"user {identity}"

    async def outcome(self, decision: str, status: str, decided_by: str) -> str:
        """The card's outcome line for a decision by ``decided_by`` (a person, the API, or
        facio itself when the turn stopped)."""
        if decided_by == API_OPERATOR:
            return outcome_text(decision, status, "", via_api=True)
        if decided_by == ABANDONED_BY:
            return outcome_text(decision, status, "", stopped=True)
        return outcome_text(decision, status, await self.name_of(decided_by))
