"""Helpers for the Slack tests: a config on the fake Slack, a gateway and a worker.

The gateway and the worker are the real ones (``channels.gateway.Gateway``,
an arq worker from ``workers.worker``) on the test Redis; only Slack is fake
(:mod:`tests.fakes.slack_server`), reached over loopback HTTP and websockets
through ``channels.slack.apiBase``. Channels are built with short retries,
lease and pings (:func:`fast_channels`) so failures show within a test.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channels.base import Channel
from channels.context import GatewayContext
from channels.gateway import Gateway
from channels.slack import SlackChannel
from core.config import FacioConfig, parse_config
from tests.fakes.slack_server import FakeSlack
from tests.integration.runtime.support import Background
from tests.integration.telegram.support import SCRIPT, settled

__all__ = [
    "SCRIPT",
    "card_of",
    "channel_of",
    "fast_channels",
    "running",
    "slack_config",
    "texts",
]


def slack_config(
    tmp_path: Path,
    fake: FakeSlack,
    *,
    allow: list[str],
    agent: dict[str, Any] | None = None,
    script: dict[str, Any] | None = None,
    **slack: Any,
) -> FacioConfig:
    """The scripted bot with Slack enabled on ``fake``; ``slack`` overrides keys."""
    script_path = tmp_path / "slack-script.json"
    script_path.write_text(json.dumps(script or SCRIPT), encoding="utf-8")
    settings: dict[str, Any] = {
        "enabled": True,
        "botToken": fake.bot_token,
        "appToken": fake.app_token,
        "signingSecret": fake.signing_secret,
        "apiBase": fake.api_url,
        "allowFrom": allow,
        "streamInterval": 0.2,
    }
    settings.update(slack)
    data = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": f"scripted:{script_path}"}},
        "agent": agent or {},
        "channels": {"slack": settings},
        "gateway": {"apiToken": "t"},
    }
    return parse_config(data, base_dir=tmp_path, env={})


def fast_channels(**options: Any) -> Any:
    """A channels factory: the Slack channel with short retries, lease and pings."""
    defaults: dict[str, Any] = {"retry_delay": 0.05, "lease_ttl": 3.0, "ping_interval": 2.0}
    defaults.update(options)

    def build(ctx: GatewayContext) -> list[Channel]:
        return [SlackChannel(ctx, ctx.config.channels.slack, **defaults)]

    return build


@contextlib.asynccontextmanager
async def running(
    config: FacioConfig,
    redis_url: str,
    fake: FakeSlack,
    *,
    worker: bool = True,
    channel_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[Gateway]:
    """A gateway (with the Slack channel, ready to receive) and, unless told not to, a worker."""
    gateway = Gateway(
        config,
        redis_url,
        host="127.0.0.1",
        port=0,
        channels=fast_channels(**(channel_options or {})),
        **options,
    )
    async with gateway:
        channel = channel_of(gateway)
        await fake.until(lambda: channel.me is not None)
        if config.channels.slack.mode == "socket":
            await fake.until(fake.ready_connections)
        else:
            fake.set_request_url(gateway.url + config.channels.slack.path)
        if not worker:
            yield gateway
            return
        async with Background(config, redis_url) as background:
            try:
                yield gateway
            finally:
                await settled(gateway, background)


def channel_of(gateway: Gateway) -> SlackChannel:
    found = [c for c in gateway.channels if isinstance(c, SlackChannel)]
    assert found, "the gateway runs no Slack channel"
    return found[0]


def texts(fake: FakeSlack, channel: str, thread_ts: str | None = None) -> list[str]:
    """The bot's messages in ``channel`` (one thread of it) as they read now."""
    return [str(m["text"]) for m in fake.sent(channel, thread_ts)]


def card_of(fake: FakeSlack, channel: str) -> dict[str, Any] | None:
    """The newest approval card the bot posted in ``channel``."""
    cards = [m for m in fake.sent(channel) if "Approval needed" in str(m["text"])]
    return cards[-1] if cards else None
