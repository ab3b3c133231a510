"""How to point discord.py 2.7.1 at another Discord (the fake), found by reading its source.

REST: every request — the bot's (``HTTPClient.request``) and the interaction
callbacks and follow-ups (``discord.webhook.async_.AsyncWebhookAdapter``,
which bypasses ``HTTPClient.request`` but builds the same ``Route``) — gets its
URL from ``discord.http.Route.BASE + path``, read when each ``Route`` is
built. ``Route.BASE`` is a class attribute (discord.py's own
``_set_api_version`` rewrites it), so setting it to ``apiBase`` (which
includes ``/api/v10``) moves all REST at once. There is no per-client option:
``Client.__init__`` builds its ``HTTPClient`` itself (only ``connector``,
``proxy``, ``http_trace`` … are options), and a per-client override would
have to replace ``client.http``, ``client._connection.http`` and the
``async_context`` ContextVar's webhook adapter (what simcord does) — private
attributes all.

Gateway: a plain ``Client`` never calls ``GET /gateway/bot`` (only
``AutoShardedClient`` does); ``Client.connect`` opens
``DiscordWebSocket.DEFAULT_GATEWAY`` (``wss://gateway.discord.gg/``), a class
attribute, appending ``?v=10&encoding=json&compress=zlib-stream`` (or
``zstd-stream`` when ``zstandard``/``compression.zstd`` is importable) with
``yarl.URL.with_query`` — which *replaces* any query the URL had. After
READY it resumes on ``resume_gateway_url`` (same query appended); after op 9
INVALID_SESSION ``false`` it falls back to ``DEFAULT_GATEWAY``. Compression
cannot be switched off through ``Client`` (``from_client(compress=…)`` is not
reachable), so a fake must speak zlib-stream. ``before_identify_hook`` runs
after the socket is open — too late to choose the URL — but is the public
hook to drop the 5 s sleep before a re-IDENTIFY in tests.

So the cleanest seam is two class attributes, set once where the channel
starts its client (the process has one Discord token) and restored after.
A channel given only ``apiBase`` could ask ``await client.http.get_bot_gateway()``
in ``setup_hook`` (it runs after login, before connecting) for the URL to set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

__all__ = ["FastClient", "channel_intents", "discord_endpoints"]


@contextlib.contextmanager
def discord_endpoints(api_base: str, gateway_url: str) -> Iterator[None]:
    """discord.py (process-wide) talks to ``api_base`` and ``gateway_url`` inside the block."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


def channel_intents() -> discord.Intents:
    """The intents facio's Discord channel asks for (DESIGN.md): guilds, guild and DM
    messages, message content."""
    return discord.Intents(guilds=True, messages=True, message_content=True, dm_messages=True)


class FastClient(discord.Client):
    """A ``discord.Client`` that re-identifies without discord.py's 5 s pause (tests only)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None
