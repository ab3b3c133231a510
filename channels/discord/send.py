"""Calling Discord's REST API: sends that never post twice, edits, typing, the one mapping.

discord.py waits 429s out itself (``Retry-After``, per bucket and global) and
retries 500/502/504 a few times; what it hands back is mapped once here
(:func:`~channels.discord.errors.map_error`). On top of it:

- A message is created with a ``nonce`` and ``enforce_nonce`` (discord.py
  sends ``enforce_nonce: true`` with any nonce): if an attempt times out, or
  its connection drops after Discord created the message (on Linux aiohttp's
  ``ServerDisconnectedError``), the retry carries the *same* nonce, and
  Discord answers it with the message the first attempt made instead of
  posting it again. Each attempt is bounded by ``timeout``.
- Every create and edit goes with :data:`~channels.discord.text.SAFE_MENTIONS`.
- An edit identical to the last one this gateway made to (or sent as) that
  message is skipped: the stream never sends an edit that changes nothing.

Messages are addressed by channel id only (``Client.get_partial_messageable``):
a DM, a guild channel and a thread are all channels, and nothing has to be
in discord.py's cache for the bot to write there.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord

from channels.discord.errors import (
    CALL_FAILURES,
    DiscordUnreachable,
    map_error,
)
from channels.discord.text import SAFE_MENTIONS, DiscordText

__all__ = ["ATTEMPTS", "SEND_TIMEOUT", "Sender"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

SEND_TIMEOUT = 60.0
"""Seconds one attempt of a call may take, 429 waits included."""
ATTEMPTS = 3
"""Tries of a call that meets a timeout, a dropped connection or a server error."""
REMEMBERED = 4096


class Sender:
    """The channel's way to call Discord's REST API (see the module docstring)."""

    def __init__(
        self,
        client: discord.Client,
        token: str,
        *,
        timeout: float = SEND_TIMEOUT,
        attempts: int = ATTEMPTS,
        retry_delay: float = 0.5,
    ) -> None:
        self.client = client
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self.retry_delay = retry_delay
        self._shown: OrderedDict[tuple[int, int], str] = OrderedDict()

    def channel(self, channel_id: int) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(channel_id)

    async def call(self, make: Callable[[], Awaitable[T]], what: str) -> T:
        """Run ``make()`` (a fresh call each try), retrying what may pass (timeouts, dropped
        connections, 5xx); anything else is mapped and raised at once."""
        failures = 0
        while True:
            try:
                return await asyncio.wait_for(make(), self.timeout)
            except CALL_FAILURES as exc:
                error = map_error(exc, what, self.token)
                failures += 1
                if not isinstance(error, DiscordUnreachable) or failures >= self.attempts:
                    raise error from exc
                logger.info("discord: %s; trying again", error)
                await asyncio.sleep(self.retry_delay * failures)

    def _remember(self, channel_id: int, message_id: int, shows: str) -> None:
        self._shown[(channel_id, message_id)] = shows
        self._shown.move_to_end((channel_id, message_id))
        while len(self._shown) > REMEMBERED:
            self._shown.popitem(last=False)

    async def send(
        self,
        channel_id: int,
        text: DiscordText,
        *,
        reply_to: int | None = None,
        view: discord.ui.View | None = None,
    ) -> discord.Message:
        """Post one message (once, whatever the retries: see the module docstring)."""
        nonce = str(secrets.randbits(63))
        reference = (
            discord.MessageReference(
                message_id=reply_to, channel_id=channel_id, fail_if_not_exists=False
            )
            if reply_to
            else None
        )
        target = self.channel(channel_id)

        async def create() -> discord.Message:
            if view is not None:
                return await target.send(
                    text.content,
                    nonce=nonce,
                    allowed_mentions=SAFE_MENTIONS,
                    reference=reference,  # type: ignore[arg-type]
                    view=view,
                )
            return await target.send(
                text.content,
                nonce=nonce,
                allowed_mentions=SAFE_MENTIONS,
                reference=reference,  # type: ignore[arg-type]
            )

        sent = await self.call(create, f"sending a message in channel {channel_id}")
        self._remember(channel_id, sent.id, text.key() + ("|buttons" if view else ""))
        return sent

    async def edit(self, channel_id: int, message_id: int, text: DiscordText) -> None:
        """Replace a message's content and drop its buttons (an edit that changes nothing
        is not sent)."""
        if self._shown.get((channel_id, message_id)) == text.key():
            return
        message = self.channel(channel_id).get_partial_message(message_id)
        await self.call(
            lambda: message.edit(content=text.content, view=None, allowed_mentions=SAFE_MENTIONS),
            f"editing message {message_id} in channel {channel_id}",
        )
        self._remember(channel_id, message_id, text.key())

    async def remove_buttons(self, channel_id: int, message_id: int) -> None:
        message = self.channel(channel_id).get_partial_message(message_id)
        self._shown.pop((channel_id, message_id), None)
        await self.call(
            lambda: message.edit(view=None), f"removing buttons in channel {channel_id}"
        )

    async def delete(self, channel_id: int, message_id: int) -> None:
        self._shown.pop((channel_id, message_id), None)
        message = self.channel(channel_id).get_partial_message(message_id)
        await self.call(message.delete, f"deleting message {message_id} in channel {channel_id}")

    async def _type(self, channel_id: int) -> None:
        await self.channel(channel_id).typing()

    async def typing(self, channel_id: int) -> bool:
        """One "is typing…" (it lasts 10 s); never retried, a failure only logged."""
        try:
            await asyncio.wait_for(self._type(channel_id), self.timeout)
        except CALL_FAILURES as exc:
            logger.debug("discord: %s", map_error(exc, f"typing in channel {channel_id}"))
            return False
        return True
