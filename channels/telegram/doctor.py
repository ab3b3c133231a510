"""``facio doctor``'s Telegram check: is the token accepted, is the API reachable?

One ``getMe`` through ``apiBase`` with a short timeout, no retries: a refused
token (401), an unreachable API and a server that does not answer like the
Bot API (a proxy's HTML error page) each get a line that says what to fix.
The token never appears in it (:func:`~channels.telegram.errors.map_error`
redacts it).
"""

from __future__ import annotations

from aiogram.methods import GetMe

from channels.telegram.adapter import api_base_of, make_bot
from channels.telegram.errors import (
    CALL_FAILURES,
    TelegramUnreachable,
    TokenRefused,
    map_error,
)
from core.config.models_channels import TelegramConfig
from core.errors import ConfigError

__all__ = ["TIMEOUT", "check_telegram"]

TIMEOUT = 5


async def check_telegram(settings: TelegramConfig) -> tuple[bool, str]:
    """``(ok, detail)``: ``@botname via <apiBase>``, or what is wrong."""
    base = api_base_of(settings)
    try:
        bot = make_bot(settings)
    except ConfigError as exc:
        return False, str(exc)
    try:
        me = await bot(GetMe(), request_timeout=TIMEOUT)
    except CALL_FAILURES as exc:
        error = map_error(exc, "getMe", bot.token)
        if isinstance(error, TokenRefused):
            return False, (
                "the Telegram token was refused (401 Unauthorized): check "
                "channels.telegram.token (@BotFather → /mybots → API Token)"
            )
        if isinstance(error, TelegramUnreachable):
            return False, f"cannot reach {base} ({error}): check channels.telegram.apiBase"
        return False, f"{base} answered getMe with an error: {error}"
    finally:
        await bot.session.close()
    return True, f"@{me.username} via {base} ({settings.mode})"
