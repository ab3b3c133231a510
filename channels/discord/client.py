"""facio's ``discord.Client``: the intents, safe mentions, persistent buttons, guarded parsing.

- Intents (docs/design.md): guilds, guild and DM messages, and the privileged
  message-content intent. Without the last one enabled for the application,
  Discord closes the gateway with 4014 and discord.py raises
  ``PrivilegedIntentsRequired`` (the channel says how to enable it).
- ``allowed_mentions`` defaults to :data:`~channels.discord.text.SAFE_MENTIONS`.
- ``setup_hook`` registers :class:`~channels.discord.cards.ApprovalButton`, so
  clicks on cards sent before a restart still route.
- Malformed gateway payloads: discord.py parses each dispatch with a parser
  of its connection state, and a parser that meets a payload it cannot read
  (a missing field, a wrong type) raises out of ``Client.connect`` — the
  whole connection would go down for one bad event. :func:`guard_parsers`
  wraps every parser (the dict discord.py's websocket reads, changed in
  place): a payload that fails is logged, counted and skipped, and the
  connection goes on. What fails outside a parser (a frame that is not JSON)
  is left to :mod:`.connection`, which connects again.
- Events go to an :class:`Events` sink (the channel); an exception in a
  handler is logged by :meth:`FacioClient.on_error`, never swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import discord

from channels.discord.cards import ApprovalButton, ClickSink
from channels.discord.text import SAFE_MENTIONS

__all__ = ["GUILD_READY_TIMEOUT", "Events", "FacioClient", "channel_intents", "guard_parsers"]

logger = logging.getLogger(__name__)

GUILD_READY_TIMEOUT = 2.0
"""discord.py's wait for more GUILD_CREATEs before ``on_ready``."""


def channel_intents() -> discord.Intents:
    """Guilds, guild and DM messages, message content (docs/discord.md)."""
    return discord.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True)


class Events(ClickSink, Protocol):
    """What the client hands on (the channel implements it)."""

    def message(self, message: discord.Message, *, edited: bool = False) -> None: ...

    async def interaction(self, interaction: discord.Interaction[Any]) -> None: ...

    def ready(self) -> None: ...

    def malformed(self, event: str, exc: Exception) -> None: ...


def guard_parsers(
    parsers: dict[str, Callable[[Any], None]], malformed: Callable[[str, Exception], None]
) -> None:
    """Make every parser skip (and report) a payload it cannot read, in place."""

    def guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(data: Any) -> None:
            try:
                parse(data)
            except Exception as exc:  # noqa: BLE001 - one event's boundary: the connection goes on
                malformed(event, exc)

        run.__wrapped__ = parse  # type: ignore[attr-defined]
        return run

    for event, parse in list(parsers.items()):
        if not hasattr(parse, "__wrapped__"):
            parsers[event] = guarded(event, parse)


class FacioClient(discord.Client):
    """The channel's client (see the module docstring)."""

    def __init__(
        self,
        events: Events,
        *,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT,
        fast_identify: bool = False,
    ) -> None:
        """``fast_identify`` drops discord.py's 5 s pause before a re-IDENTIFY (tests)."""
        # facio has no voice: discord.py's warnings about its voice libraries are noise
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=channel_intents(),
            allowed_mentions=SAFE_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.events = events
        self.clicks: ClickSink = events
        """Read by :meth:`ApprovalButton.callback`: who decides a click."""
        self.fast_identify = fast_identify
        guard_parsers(self._connection.parsers, events.malformed)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ApprovalButton)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not self.fast_identify:
            await super().before_identify_hook(shard_id, initial=initial)

    async def on_ready(self) -> None:
        self.events.ready()

    async def on_message(self, message: discord.Message) -> None:
        self.events.message(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        if before.content != after.content:
            self.events.message(after, edited=True)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await self.events.interaction(interaction)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        logger.exception("discord: handling %s failed", event_method)
