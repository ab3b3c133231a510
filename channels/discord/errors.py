"""The Discord channel's errors, and the one place discord.py's (and aiohttp's) are mapped.

    DiscordChannelError (channels.chat.errors.ChatError)
    ├── TokenRefused        401 / close 4004: Discord does not know the token — fix the config
    ├── IntentMissing       close 4014: the Message Content intent is not enabled for the
    │                       application (discord.py's ``PrivilegedIntentsRequired``)
    ├── GatewayRefused      another close code discord.py does not recover from (4010-4013)
    ├── DiscordUnreachable  no usable answer: the network, a timeout, a dropped connection
    │                       (on Linux aiohttp's ``ServerDisconnectedError``), a 5xx after
    │                       discord.py's own retries
    └── RequestRefused      Discord refused one call (403 Missing Access, 404 Unknown
                            Message, 400 Invalid Form Body …); ``code`` is Discord's JSON code

What a call can raise because of the server or the way to it is
:data:`CALL_FAILURES`; :func:`map_error` maps each of them. 429s never get
here: discord.py waits them out (``Retry-After``) before it returns.

Redaction: the bot token travels in a header, never in a URL, but an error
text may quote a request (an interaction's webhook URL holds its own token):
:func:`redact` takes the bot token out of every message built here, so
neither logs nor ``facio doctor`` show it.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from channels.chat.errors import ChatError, PlatformUnreachable

__all__ = [
    "CALL_FAILURES",
    "DiscordChannelError",
    "DiscordUnreachable",
    "GatewayRefused",
    "IntentMissing",
    "RequestRefused",
    "TokenRefused",
    "map_error",
    "redact",
]

CALL_FAILURES = (
    discord.DiscordException,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
)
"""What a REST call or the gateway raises because of what Discord (or the way to it) did."""

UNKNOWN_INTERACTION = 10062
"""The click's token expired: it was not answered within Discord's 3 s window."""
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_MESSAGE = 10008
INTENT_HELP = (
    "the Message Content intent is not enabled for this application: Developer Portal → "
    "your application → Bot → Privileged Gateway Intents → Message Content Intent"
)


class DiscordChannelError(ChatError):
    """Base of the errors the Discord channel raises."""


class TokenRefused(DiscordChannelError):
    """Discord does not accept the bot token."""


class IntentMissing(DiscordChannelError):
    """The application has not enabled the privileged Message Content intent."""


class GatewayRefused(DiscordChannelError):
    """The gateway closed with a code that reconnecting will not fix."""


class DiscordUnreachable(DiscordChannelError, PlatformUnreachable):
    """Discord gave no usable answer (network error, timeout, dropped connection, 5xx)."""


class RequestRefused(DiscordChannelError):
    """Discord answered a call with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int = 0, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def redact(text: str, token: str = "") -> str:
    """``text`` with the bot token replaced by ``<token>``."""
    return text.replace(token, "<token>") if token else text


def map_error(exc: BaseException, what: str, token: str = "") -> DiscordChannelError:
    """The channel's error for a failed call or connection; ``what`` names it (and where)."""
    error = _map(exc, what)
    error.args = (redact(str(error), token),)
    return error


def _map(exc: BaseException, what: str) -> DiscordChannelError:
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return IntentMissing(INTENT_HELP)
    if isinstance(exc, discord.LoginFailure):
        return TokenRefused("the Discord token was refused (401 Unauthorized)")
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:
            return TokenRefused("the Discord token was refused (gateway close 4004)")
        if exc.code == 4014:
            return IntentMissing(INTENT_HELP)
        return GatewayRefused(f"{what}: the gateway closed with {exc.code} ({exc.reason or ''})")
    if isinstance(exc, discord.DiscordServerError):
        return DiscordUnreachable(f"{what}: {exc.status} {_said(exc)}")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 401:
            return TokenRefused("the Discord token was refused (401 Unauthorized)")
        return RequestRefused(
            f"{what}: {exc.status} {_said(exc)}", status=exc.status, code=exc.code
        )
    if isinstance(exc, discord.GatewayNotFound):
        return DiscordUnreachable(f"{what}: the gateway was not found")
    if isinstance(exc, asyncio.TimeoutError):
        return DiscordUnreachable(f"{what}: timed out")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return DiscordUnreachable(f"{what}: {type(exc).__name__}")
    return DiscordChannelError(f"{what}: {type(exc).__name__}")


def _said(exc: discord.HTTPException) -> str:
    """Discord's own words: ``Unknown Message (10008)``."""
    text = " ".join(exc.text.split()) if exc.text else (exc.response.reason or "")
    return f"{text} ({exc.code})" if exc.code else text
