"""Webhook mode: Telegram POSTs each update to the gateway's HTTP server.

The route is the path of ``webhookUrl`` (``/telegram/webhook`` when it has
none) on the gateway's aiohttp application; a reverse proxy forwards the
public HTTPS URL to it. Every request must carry the secret in
``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time), else 401.
The secret is ``webhookSecret``, or derived from the bot token when that is
empty — the same in every gateway, unguessable without the token.

Answers: 200 when the update was handled (or, a message with a file, queued
in its chat's lane: :mod:`.lanes`) or is malformed (logged; a retry would
not fix it), 503 while the channel is not ready or Redis failed — Telegram
then delivers the update again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.methods import SetWebhook
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from channels.inputs import BadInput, load_json
from channels.telegram.poller import ALLOWED_UPDATES
from channels.telegram.send import Sender

__all__ = ["DEFAULT_PATH", "SECRET_HEADER", "Webhook", "derive_secret", "webhook_path"]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram/webhook"


def webhook_path(url: str) -> str:
    """The path the gateway serves: that of the public URL, or :data:`DEFAULT_PATH`."""
    path = urlsplit(url).path.rstrip("/")
    return path or DEFAULT_PATH


def derive_secret(token: str) -> str:
    """A webhook secret from the bot token (hex: within Telegram's allowed characters)."""
    return hashlib.sha256(b"facio-telegram-webhook:" + token.encode()).hexdigest()


class Webhook:
    """The webhook route and its registration with Telegram."""

    def __init__(
        self,
        url: str,
        secret: str,
        handle: Callable[[Update], Awaitable[None]],
        *,
        bot: Bot,
        ready: Callable[[], bool],
    ) -> None:
        self.url = url
        self.path = webhook_path(url)
        self.secret = secret
        self.handle = handle
        self.bot = bot
        self.ready = ready
        self._lock = asyncio.Lock()
        """Updates are handled one at a time, in the order they arrive."""

    def route(self, app: web.Application) -> None:
        app.router.add_post(self.path, self.receive)

    async def register(self, sender: Sender) -> None:
        """``setWebhook`` with the secret and the update kinds facio handles."""
        method = SetWebhook(
            url=self.url,
            secret_token=self.secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        await sender.call(method, "setWebhook")

    async def receive(self, request: web.Request) -> web.Response:
        # a header's bytes that are not UTF-8 arrive as surrogates: compared as bytes
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.secret.encode()):
            return web.json_response({"error": "bad or missing secret token"}, status=401)
        if not self.ready():
            return web.json_response({"error": "not ready"}, status=503)
        try:
            data = load_json(await request.read())
            update = Update.model_validate(data, context={"bot": self.bot})
        except (BadInput, ValidationError) as exc:
            reason = str(exc) if isinstance(exc, BadInput) else type(exc).__name__
            logger.warning("telegram: malformed webhook update skipped: %s", reason)
            return web.Response(status=200)
        try:
            async with self._lock:
                await self.handle(update)
        except RedisError:
            logger.warning(
                "telegram: Redis failed on update %s; Telegram will retry", update.update_id
            )
            return web.json_response({"error": "try again"}, status=503)
        except (
            Exception
        ):  # the request boundary: log, and do not make Telegram retry a poison update
            logger.exception("telegram: handling update %s failed; skipped", update.update_id)
        return web.Response(status=200)
