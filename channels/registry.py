"""Which channel adapters the gateway runs: one per enabled platform in the config.

Adapters are imported only when enabled, so a gateway without Slack never
imports slack_bolt. Every platform the config knows has one (a test checks).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from channels.base import Channel
from channels.context import GatewayContext

__all__ = ["ADAPTERS", "ChannelsFactory", "build_channels"]

ChannelsFactory = Callable[[GatewayContext], list[Channel]]
"""Builds the gateway's channels once its Redis is connected (tests pass their own)."""

ADAPTERS: dict[str, str] = {
    "telegram": "channels.telegram:create",
    "slack": "channels.slack:create",
    "discord": "channels.discord:create",
}
"""Platform name → ``module:function`` taking a :class:`GatewayContext`, returning a Channel."""


def build_channels(ctx: GatewayContext) -> list[Channel]:
    """An adapter for every enabled channel of ``ctx.config``."""
    channels: list[Channel] = []
    for name in ctx.config.channels.enabled():
        module, _, function = ADAPTERS[name].partition(":")
        create: Callable[[GatewayContext], Channel] = getattr(
            importlib.import_module(module), function
        )
        channels.append(create(ctx))
    return channels
