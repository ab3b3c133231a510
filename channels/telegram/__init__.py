"""The Telegram channel: a personal assistant in Telegram, approvals as inline buttons.

The pattern the Slack and Discord channels follow; details in docs/telegram.md.

| module | concern |
| --- | --- |
| :mod:`.adapter` | the :class:`~channels.base.Channel` the gateway runs; wiring |
| :mod:`.poller`, :mod:`.lease`, :mod:`.webhook` | receiving updates (long polling, webhook) |
| :mod:`.receive`, :mod:`.commands`, :mod:`.files` | update → turn, commands, files |
| :mod:`.lanes` | slow updates in per-chat lanes; background replies |
| :mod:`.access`, :mod:`.route` | allowFrom, group rules, deciders; session keys, targets |
| :mod:`.render`, :mod:`.stream`, :mod:`.presence` | outbox events → messages, edits, typing |
| :mod:`.approvals`, :mod:`.clicks`, :mod:`.cards` | approval cards, button clicks |
| :mod:`.markdown`, :mod:`.formatted`, :mod:`.split` | Markdown → entities, 4,096-unit parts |
| :mod:`.send`, :mod:`.errors` | calling the Bot API: flood waits, fallback, one error mapping |
| :mod:`.doctor` | ``facio doctor``'s Telegram check |
"""

from __future__ import annotations

from channels.base import Channel
from channels.context import GatewayContext
from channels.telegram.adapter import TelegramChannel

__all__ = ["TelegramChannel", "create"]


def create(ctx: GatewayContext) -> Channel:
    """The channel for ``ctx.config.channels.telegram`` (the registry's entry point)."""
    return TelegramChannel(ctx, ctx.config.channels.telegram)
