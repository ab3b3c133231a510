"""Where discord.py talks to: the one seam to Discord (STYLE.md, "a seam per outside world").

discord.py 2.7.1 has no per-client option for its endpoints (read from its
source, and proven against the loopback fake in tests/integration/discord/):

- REST — the bot's calls and the interaction callbacks and follow-ups alike —
  builds every URL from the class attribute ``discord.http.Route.BASE``
  (``https://discord.com/api/v10``), read each time a ``Route`` is made;
- a plain ``Client`` connects to the class attribute
  ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
  (``wss://gateway.discord.gg/``), appending ``?v=10&encoding=json&compress=…``
  (any query of its own is replaced); after READY it resumes on the
  ``resume_gateway_url`` Discord gave, and after an invalid session it starts
  over at ``DEFAULT_GATEWAY``.

So ``apiBase`` and ``gatewayUrl`` become these two class attributes while the
channel runs (:func:`use_endpoints` at start, :func:`release_endpoints` at
stop, which restores discord.py's own values). A gateway process runs one
Discord channel, so one pair of endpoints per process is no limit in
practice; two holders asking for different endpoints at once is a
:class:`~core.errors.ConfigError`, never a silent mix. The holders are
counted, so several channels on the same endpoints (tests start two gateways
in one process) release them only when the last one stops.

``gatewayUrl`` "" with ``apiBase`` set asks that server's ``GET /gateway/bot``
for the websocket (:func:`discover_gateway`), as Discord's own docs advise.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from core.errors import ConfigError

__all__ = [
    "DISCORD_API",
    "DISCORD_GATEWAY",
    "Endpoints",
    "discover_gateway",
    "held_endpoints",
    "release_endpoints",
    "use_endpoints",
]

DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


@dataclass(frozen=True, slots=True)
class Endpoints:
    api_base: str
    gateway_url: str


@dataclass
class _Holders:
    count: int = 0
    current: Endpoints | None = None
    saved: tuple[str, yarl.URL] | None = None


_HOLDERS = _Holders()


def use_endpoints(api_base: str, gateway_url: str) -> Endpoints:
    """Point discord.py (process-wide) at ``api_base`` (REST, ``/api/v10`` included) and
    ``gateway_url`` ("" for Discord's own) until :func:`release_endpoints`."""
    wanted = Endpoints(api_base.rstrip("/") or DISCORD_API, gateway_url or DISCORD_GATEWAY)
    current = _HOLDERS.current
    if not gateway_url and current is not None and current.api_base == wanted.api_base:
        wanted = current  # the gateway it discovered
    if _HOLDERS.count and current != wanted:
        raise ConfigError(
            f"this process already talks to Discord at {_HOLDERS.current}; one gateway "
            "process runs one Discord endpoint pair",
            path="channels.discord.apiBase",
        )
    if not _HOLDERS.count:
        _HOLDERS.saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE = wanted.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(wanted.gateway_url)
        _HOLDERS.current = wanted
    _HOLDERS.count += 1
    return wanted


def release_endpoints() -> None:
    """One holder is done; the last one puts discord.py's own endpoints back."""
    if not _HOLDERS.count:
        return
    _HOLDERS.count -= 1
    if not _HOLDERS.count and _HOLDERS.saved is not None:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = _HOLDERS.saved
        _HOLDERS.saved = None
        _HOLDERS.current = None


def held_endpoints() -> Endpoints | None:
    """The endpoints in force now, if a channel holds them."""
    return _HOLDERS.current if _HOLDERS.count else None


async def discover_gateway(http: discord.http.HTTPClient) -> str:
    """Ask the REST server which websocket to use (``GET /gateway/bot``), for an
    ``apiBase`` without a ``gatewayUrl``, and connect there; raises what the call raises."""
    _shards, url, _limit = await http.get_bot_gateway()
    if _HOLDERS.current is not None and _HOLDERS.current.gateway_url != url:
        _HOLDERS.current = Endpoints(_HOLDERS.current.api_base, url)
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    return url
