"""Answering a click inside Discord's 3-second window.

Discord takes one answer (an interaction callback) per click, within three
seconds of it; after that the click's token is unknown (10062) and the
person sees "This interaction failed". The decision itself — the clicker
check and the runtime's compare-and-set (:class:`channels.chat.clicks.ClickHandler`)
— is a few Redis round trips, so the answer normally goes at once:

- the click decided the approval: ``DEFERRED_UPDATE_MESSAGE`` (type 6), an
  acknowledgement that changes nothing itself — the card is edited in place
  by the ``approval_decided`` render (outcome line, buttons gone), the same
  edit a decision over the HTTP API or another gateway makes;
- anything else (a foreign clicker, already decided, expired, gone): an
  ephemeral message only the clicker sees (type 4, flag 64); the card keeps
  its buttons.

Should the decision take longer than :data:`DEADLINE` (Redis slow or
blocked), the click is acknowledged first with an ephemeral "thinking"
(type 5) and the answer follows as an ephemeral follow-up when it is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from channels.chat.clicks import ClickAnswer
from channels.discord.errors import CALL_FAILURES, map_error

__all__ = ["DEADLINE", "answer_click", "say_privately"]

logger = logging.getLogger(__name__)

DEADLINE = 2.0
"""Seconds a click's decision may take before the click is acknowledged without it."""


async def _respond(call: Callable[[], Awaitable[Any]], what: str, token: str) -> None:
    try:
        await call()
    except CALL_FAILURES as exc:
        logger.warning("discord: %s", map_error(exc, what, token))


async def say_privately(interaction: discord.Interaction[Any], text: str, token: str = "") -> None:
    """An ephemeral answer to ``interaction`` (only the clicker sees it)."""
    await _respond(
        lambda: interaction.response.send_message(text, ephemeral=True),
        f"answering click {interaction.id}",
        token,
    )


async def answer_click(
    interaction: discord.Interaction[Any],
    decide: Awaitable[ClickAnswer | None],
    *,
    deadline: float = DEADLINE,
    token: str = "",
) -> ClickAnswer | None:
    """Run ``decide`` and answer the click with its outcome within the window."""
    what = f"answering click {interaction.id}"
    task = asyncio.ensure_future(decide)
    try:
        answer = await asyncio.wait_for(asyncio.shield(task), deadline)
    except TimeoutError:
        await _respond(
            lambda: interaction.response.defer(ephemeral=True, thinking=True), what, token
        )
        answer = await task
        if answer is not None:
            text = answer.text
            await _respond(lambda: interaction.followup.send(text, ephemeral=True), what, token)
        return answer
    if answer is None:
        return None  # delivered before, answered then
    if answer.decided:
        await _respond(interaction.response.defer, what, token)
    else:
        await say_privately(interaction, answer.text, token)
    return answer
