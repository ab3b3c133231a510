"""The Telegram channel's errors, and the one place aiogram's are mapped to them.

    TelegramChannelError (FacioError)
    ├── TokenRefused         401: Telegram does not know the token — fix the config
    ├── PollingConflict      409 on getUpdates: another program polls this token
    ├── TelegramUnreachable  no answer from the API (network, timeouts, 5xx), after retries
    └── RequestRefused       Telegram refused one call (bad request, bot blocked, …)
                             — ``bad_request`` tells formatting-type refusals apart

Flood control (429, ``TelegramRetryAfter``) never leaves :mod:`~channels.telegram.send`:
it is waited out there.
"""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from core.errors import FacioError

__all__ = [
    "PollingConflict",
    "RequestRefused",
    "TelegramChannelError",
    "TelegramUnreachable",
    "TokenRefused",
    "map_error",
]


class TelegramChannelError(FacioError):
    """Base of the errors the Telegram channel raises."""


class TokenRefused(TelegramChannelError):
    """Telegram does not accept the bot token."""


class PollingConflict(TelegramChannelError):
    """Another getUpdates poller (or a webhook) holds this token."""


class TelegramUnreachable(TelegramChannelError):
    """The Bot API did not answer (network error, timeout, server error)."""


class RequestRefused(TelegramChannelError):
    """Telegram answered a call with an error that retrying will not fix."""

    def __init__(self, message: str, *, bad_request: bool) -> None:
        super().__init__(message)
        self.bad_request = bad_request
        """A 400: the request itself was wrong (often its formatting)."""


def map_error(exc: TelegramAPIError, what: str) -> TelegramChannelError:
    """The channel's error for an aiogram API error; ``what`` names the call (and chat)."""
    detail = f"{what}: {exc.message}"
    if isinstance(exc, TelegramUnauthorizedError):
        return TokenRefused(f"the Telegram token was refused ({exc.message})")
    if isinstance(exc, TelegramConflictError):
        return PollingConflict(detail)
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return TelegramUnreachable(detail)
    return RequestRefused(detail, bad_request=isinstance(exc, TelegramBadRequest))
