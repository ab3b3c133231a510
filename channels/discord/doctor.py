"""``facio doctor``'s Discord check: token, reachability, the message-content intent, invite URL.

One login through ``apiBase`` (``GET /users/@me`` and the application, as
discord.py logs in), short timeout, no gateway connection:

- a refused token (401) → what to fix in the config;
- an unreachable API → the URL it tried;
- the application's ``flags`` without ``GATEWAY_MESSAGE_CONTENT`` (1 << 18)
  or ``…_LIMITED`` (1 << 19) → the gateway would close 4014
  (``PrivilegedIntentsRequired``): where to enable the intent;
- and always, once the bot is known, the invite URL with exactly the
  permissions facio needs (:data:`PERMISSIONS`).

The token never appears in what it prints (:func:`~channels.discord.errors.map_error`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import discord

from channels.discord.endpoints import DISCORD_API, release_endpoints, use_endpoints
from channels.discord.errors import (
    CALL_FAILURES,
    INTENT_HELP,
    DiscordUnreachable,
    TokenRefused,
    map_error,
)
from core.config.models_channels import DiscordConfig

__all__ = [
    "MESSAGE_CONTENT_FLAGS",
    "PERMISSIONS",
    "TIMEOUT",
    "DoctorLine",
    "check_discord",
    "invite_url",
]

TIMEOUT = 10.0
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
"""``GATEWAY_MESSAGE_CONTENT`` (verified apps) or ``GATEWAY_MESSAGE_CONTENT_LIMITED``."""
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
)
"""What the bot needs in a server: see channels, write in them and in threads, read the
message a reply points to. Nothing else (no @everyone, no managing anything)."""


@dataclass(frozen=True, slots=True)
class DoctorLine:
    name: str
    ok: bool
    detail: str


def invite_url(application_id: int) -> str:
    """The URL that adds the bot to a server with :data:`PERMISSIONS`."""
    return discord.utils.oauth_url(
        application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands")
    )


async def check_discord(settings: DiscordConfig) -> list[DoctorLine]:
    """``discord`` (token, API, intent) and, once the bot is known, ``discord invite``."""
    base = settings.api_base.rstrip("/") or DISCORD_API
    token = settings.token.get_secret_value().strip()
    use_endpoints(settings.api_base, settings.gateway_url)
    client = discord.Client(intents=discord.Intents.none())
    try:
        await asyncio.wait_for(client.login(token), TIMEOUT)
        application = await asyncio.wait_for(client.application_info(), TIMEOUT)
    except CALL_FAILURES as exc:
        error = map_error(exc, "logging in", token)
        if isinstance(error, TokenRefused):
            detail = (
                "the Discord token was refused (401 Unauthorized): check channels.discord.token "
                "(Developer Portal → your application → Bot → Reset Token)"
            )
        elif isinstance(error, DiscordUnreachable):
            detail = f"cannot reach {base} ({error}): check channels.discord.apiBase"
        else:
            detail = f"{base} answered with an error: {error}"
        return [DoctorLine("discord", False, detail)]
    finally:
        await client.close()
        release_endpoints()
    me = client.user
    name = f"@{me.name}" if me is not None else "the bot"
    invite = DoctorLine("discord invite", True, invite_url(application.id))
    if not application.flags.value & MESSAGE_CONTENT_FLAGS:
        return [DoctorLine("discord", False, f"{name}: {INTENT_HELP}"), invite]
    return [DoctorLine("discord", True, f"{name} via {base}"), invite]
