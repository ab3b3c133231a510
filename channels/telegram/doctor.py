"""``facio doctor``'s Telegram check: is the token accepted, is the API reachable?

One ``getMe`` through ``apiBase`` with a short timeout, no retries: a refused
token (401) and an unreachable API each get a line that says what to fix.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.methods import GetMe

from channels.telegram.adapter import api_base_of, make_bot
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
    except TelegramUnauthorizedError:
        return False, (
            "the Telegram token was refused (401 Unauthorized): check channels.telegram.token "
            "(@BotFather → /mybots → API Token)"
        )
    except TelegramNetworkError as exc:
        return False, f"cannot reach {base} ({exc.message}): check channels.telegram.apiBase"
    except TelegramAPIError as exc:
        return False, f"{base} answered getMe with an error: {exc.message}"
    finally:
        await bot.session.close()
    return True, f"@{me.username} via {base} ({settings.mode})"
