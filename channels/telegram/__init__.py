"""The Telegram channel: a personal assistant in Telegram, approvals as inline buttons.

Translation on top of the shared chat layer; details in docs/telegram.md.

| module | concern |
| --- | --- |
| :mod:`.adapter` | the :class:`~channels.base.Channel` the gateway runs; wiring |
| :mod:`.platform` | the chat layer's calls as Bot API calls (a ``ChatPlatform``) |
| :mod:`.translate` | updates → :class:`~channels.chat.Incoming`: sessions, mentions, commands |
| :mod:`.poller`, :mod:`.webhook` | receiving updates (long polling, webhook) |
| :mod:`.cards`, :mod:`.files` | approval cards and their buttons; downloading files |
| :mod:`.markdown`, :mod:`.formatted`, :mod:`.split` | Markdown → entities, 4,096-unit parts |
| :mod:`.send`, :mod:`.errors` | calling the Bot API: flood waits, fallback, one error mapping |
| :mod:`.doctor` | ``facio doctor``'s Telegram check |

Everything that is not Telegram — access, commands, streaming, cards and
clicks, lanes — is the shared chat layer, :mod:`channels.chat`.
"""

from __future__ import annotations

from channels.base import Channel
from channels.context import GatewayContext
from channels.telegram.adapter import TelegramChannel

__all__ = ["TelegramChannel", "create"]


def create(ctx: GatewayContext) -> Channel:
    """The channel for ``ctx.config.channels.telegram`` (the registry's entry point)."""
    return TelegramChannel(ctx, ctx.config.channels.telegram)
