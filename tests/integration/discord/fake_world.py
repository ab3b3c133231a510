"""Shared set-up of the fake Discord's own tests: a started fake, a small world, a client.

The client is a real ``discord.Client`` pointed at the fake with
:func:`tests.fakes.discord_client.discord_endpoints`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from tests.fakes.discord_client import FastClient, channel_intents
from tests.fakes.discord_objects import Channel, Guild, User
from tests.fakes.discord_server import FakeDiscord

__all__ = ["World", "button", "call", "make_world", "new_client", "row", "running"]


@dataclass
class World:
    fake: FakeDiscord
    alice: User
    bob: User
    team: Guild
    general: Channel


def make_world(fake: FakeDiscord) -> World:
    alice = fake.add_user("alice")
    bob = fake.add_user("bob")
    team = fake.add_guild("Team", members=[alice, bob])
    return World(fake, alice, bob, team, fake.add_channel(team, "general"))


def new_client(**options: Any) -> FastClient:
    options.setdefault("guild_ready_timeout", 0.05)
    return FastClient(intents=options.pop("intents", channel_intents()), **options)


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, client: discord.Client) -> AsyncIterator[discord.Client]:
    """``client`` logged in to ``fake`` and ready (READY and every GUILD_CREATE seen)."""
    task = asyncio.create_task(client.start(fake.token))
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises what start raised
        assert ready in done, "the client did not get ready"
        yield client
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def call(
    http: aiohttp.ClientSession,
    fake: FakeDiscord,
    method: str,
    path: str,
    *,
    json: Any = None,
    auth: str | None = "",
    data: Any = None,
) -> tuple[int, Any]:
    headers = {} if auth is None else {"Authorization": auth or f"Bot {fake.token}"}
    async with http.request(
        method, fake.api_base + path, json=json, data=data, headers=headers
    ) as reply:
        body = await reply.json(content_type=None) if reply.status != 204 else None
        assert reply.headers.get("Content-Type") in (None, "application/json")
        return reply.status, body


def row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def button(custom_id: str, label: str = "Go", style: int = 1) -> dict[str, Any]:
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}
