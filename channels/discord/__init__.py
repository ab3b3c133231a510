"""The Discord channel: a team's bot in DMs, channels and threads, approvals as buttons.

Translation on top of the shared chat layer; details in docs/discord.md.

| module | concern |
| --- | --- |
| :mod:`.adapter` | the :class:`~channels.base.Channel` the gateway runs; wiring |
| :mod:`.endpoints` | ``apiBase``/``gatewayUrl`` → discord.py's endpoints (the seam) |
| :mod:`.client` | facio's ``discord.Client``: intents, safe mentions, guarded parsing |
| :mod:`.connection` | the gateway websocket under its lease, one per token |
| :mod:`.platform` | the chat layer's calls as REST calls (a ``ChatPlatform``) |
| :mod:`.translate` | messages → :class:`~channels.chat.Incoming`: sessions, mentions |
| :mod:`.text`, :mod:`.cards` | Markdown at 2,000 characters; approval cards and buttons |
| :mod:`.interactions` | answering clicks within Discord's 3-second window |
| :mod:`.send`, :mod:`.errors` | REST calls: nonces, retries, one error mapping |
| :mod:`.files` | downloading attachments |
| :mod:`.doctor` | ``facio doctor``'s Discord check and the invite URL |

Everything that is not Discord — access, commands, streaming, cards and
clicks, lanes — is the shared chat layer, :mod:`channels.chat`.
"""

from __future__ import annotations

from channels.base import Channel
from channels.context import GatewayContext
from channels.discord.adapter import DiscordChannel

__all__ = ["DiscordChannel", "create"]


def create(ctx: GatewayContext) -> Channel:
    """The channel for ``ctx.config.channels.discord`` (the registry's entry point)."""
    return DiscordChannel(ctx, ctx.config.channels.discord)
