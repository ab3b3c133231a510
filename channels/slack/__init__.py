"""The Slack channel: the agent in DMs and threads, approvals as Block Kit buttons.

Translation on top of the shared chat layer; details in docs/slack.md.

| module | concern |
| --- | --- |
| :mod:`.adapter` | the :class:`~channels.base.Channel` the gateway runs; wiring, threads, clicks |
| :mod:`.app` | the bolt ``AsyncApp``: listeners, acknowledgements |
| :mod:`.socket`, :mod:`.http` | receiving: Socket Mode (one connection per app), signed HTTP |
| :mod:`.platform` | the chat layer's calls as Web API calls (a ``ChatPlatform``); sign of life |
| :mod:`.translate` | events → :class:`~channels.chat.Incoming`: sessions, mentions, commands |
| :mod:`.people` | user ids → names (``users.info``, cached) |
| :mod:`.mrkdwn`, :mod:`.blocks` | Markdown → escaped mrkdwn; message parts within Slack's limits |
| :mod:`.cards` | approval cards as Block Kit and their buttons' payload |
| :mod:`.files` | downloading shared files into the workspace |
| :mod:`.web`, :mod:`.errors` | the Web API client: rate limits, safe retries, error mapping |
| :mod:`.doctor` | ``facio doctor``'s Slack check |

Everything that is not Slack — access, commands, streaming, cards and
clicks, lanes — is the shared chat layer, :mod:`channels.chat`.
"""

from __future__ import annotations

from channels.base import Channel
from channels.context import GatewayContext
from channels.slack.adapter import SlackChannel

__all__ = ["SlackChannel", "create"]


def create(ctx: GatewayContext) -> Channel:
    """The channel for ``ctx.config.channels.slack`` (the registry's entry point)."""
    return SlackChannel(ctx, ctx.config.channels.slack)
