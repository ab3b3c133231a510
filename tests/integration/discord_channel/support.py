"""Helpers for the Discord channel's tests: a config on the fake Discord, a gateway, a worker.

The gateway and the worker are the real ones (``channels.gateway.Gateway``,
an arq worker) on the test Redis; only Discord is fake
(:mod:`tests.fakes.discord_server`: REST at ``apiBase``, the gateway
websocket at ``gatewayUrl``), reached over loopback by a real discord.py
client. Timings are short: discord.py's wait for GUILD_CREATEs, its pause
before a re-IDENTIFY, the gateway lease.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.base import Channel
from channels.context import GatewayContext
from channels.discord import DiscordChannel
from channels.discord.endpoints import held_endpoints
from channels.gateway import Gateway
from core.config import FacioConfig, parse_config
from tests.fakes.discord_objects import Channel as FakeChannel
from tests.fakes.discord_objects import Guild, User
from tests.fakes.discord_server import FakeDiscord
from tests.integration.runtime.support import Background
from tests.integration.telegram.support import SCRIPT as TELEGRAM_SCRIPT
from tests.integration.telegram.support import settled

__all__ = [
    "PINGS",
    "SCRIPT",
    "World",
    "buttons",
    "card_of",
    "channel_of",
    "dc_config",
    "make_world",
    "running",
    "texts",
    "world",
]

PINGS = "@everyone @here look: <@&4242> and <@1234> said so."
SCRIPT: dict[str, Any] = {
    **TELEGRAM_SCRIPT,
    "rules": [
        {"on": "user", "match": r"(?i)\bping everyone\b", "text": PINGS},
        *TELEGRAM_SCRIPT["rules"],
    ],
}
"""The Telegram tests' script, and an answer full of pings."""

FAST = {"guild_ready_timeout": 0.05, "lease_ttl": 1.5, "retry_delay": 0.2, "fast_identify": True}
"""The channel's timings in tests."""


@dataclass
class World:
    fake: FakeDiscord
    alice: User
    bob: User
    boss: User
    mallory: User
    team: Guild
    general: FakeChannel


def make_world(fake: FakeDiscord) -> World:
    alice = fake.add_user("alice", global_name="Alice")
    bob = fake.add_user("bob", global_name="Bob")
    boss = fake.add_user("boss", global_name="Boss")
    mallory = fake.add_user("mallory", global_name="Mallory")
    team = fake.add_guild("Team", members=[alice, bob, boss, mallory])
    return World(fake, alice, bob, boss, mallory, team, fake.add_channel(team, "general"))


@contextlib.contextmanager
def world(**options: Any) -> Iterator[World]:
    """A started fake Discord with people, a guild and a channel; no leaked endpoints."""
    options.setdefault("heartbeat_interval", 0.5)
    with FakeDiscord(**options) as fake:
        yield make_world(fake)
    assert held_endpoints() is None, "a Discord channel did not release discord.py's endpoints"
    assert not fake.errors, fake.errors


def dc_config(
    tmp_path: Path,
    w: World,
    *,
    agent: dict[str, Any] | None = None,
    script: dict[str, Any] | None = None,
    **discord: Any,
) -> FacioConfig:
    """The scripted bot with Discord enabled on the fake; ``discord`` overrides keys."""
    script_path = tmp_path / "dc.json"
    script_path.write_text(json.dumps(script or SCRIPT), encoding="utf-8")
    settings: dict[str, Any] = {
        "enabled": True,
        "token": w.fake.token,
        "apiBase": w.fake.api_base,
        "gatewayUrl": w.fake.gateway_url,
        "allowFrom": [str(w.alice.id), "bob"],
        "approvers": ["@boss"],
        "streamInterval": 0.2,
    }
    settings.update(discord)
    data = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo", "model": f"scripted:{script_path}"}},
        "agent": agent or {},
        "channels": {"discord": settings},
        "gateway": {"apiToken": "t"},
    }
    return parse_config(data, base_dir=tmp_path, env={})


def fast_channels(**options: Any) -> Any:
    """A channels factory: the Discord channel with test timings (``options`` override)."""

    def build(ctx: GatewayContext) -> list[Channel]:
        return [DiscordChannel(ctx, ctx.config.channels.discord, **{**FAST, **options})]

    return build


@contextlib.asynccontextmanager
async def running(
    config: FacioConfig,
    redis_url: str,
    *,
    worker: bool = True,
    ready: bool = True,
    **options: Any,
) -> AsyncIterator[Gateway]:
    """A gateway with the Discord channel (test timings) and, unless told not to, a worker;
    ``ready``: wait until the channel's gateway connection is up."""
    channels = fast_channels(**options)
    async with Gateway(config, redis_url, host="127.0.0.1", port=0, channels=channels) as gateway:
        channel = channel_of(gateway)
        if ready:
            await wait_ready(channel)
        if not worker:
            yield gateway
            return
        async with Background(config, redis_url) as background:
            try:
                yield gateway
            finally:
                await settled(gateway, background)


async def wait_ready(channel: DiscordChannel, timeout: float = 10.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not channel.client.is_ready():
        assert loop.time() < deadline, (
            f"the Discord channel did not get ready: {await channel.health()}"
        )
        await asyncio.sleep(0.02)


def channel_of(gateway: Gateway) -> DiscordChannel:
    found = [c for c in gateway.channels if isinstance(c, DiscordChannel)]
    assert found, "the gateway runs no Discord channel"
    return found[0]


def texts(fake: FakeDiscord, channel_id: int) -> list[str]:
    """The bot's visible messages in ``channel_id`` as they read now."""
    return [str(m["content"]) for m in fake.sent(channel_id)]


def card_of(fake: FakeDiscord, channel_id: int) -> dict[str, Any] | None:
    """The latest approval card in ``channel_id``."""
    cards = [m for m in fake.sent(channel_id) if "Approval needed" in str(m["content"])]
    return cards[-1] if cards else None


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, custom_id)`` of a message's buttons."""
    return [
        (b["label"], b["custom_id"])
        for row in message.get("components", [])
        for b in row.get("components", [])
    ]
