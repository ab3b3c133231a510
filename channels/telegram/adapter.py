"""The Telegram channel as the gateway sees it (:class:`channels.base.Channel`).

It wires the parts: an aiogram ``Bot`` whose session points at ``apiBase``
(the one seam to Telegram: tests point it at a loopback fake), the intake
(updates → turns, :mod:`.receive`), the poller or the webhook, and the
renderer of outbox events (:mod:`.render`). ``start`` returns at once: the
bot is identified (``getMe``) and polling started in the background, so a
Telegram outage never keeps the gateway from serving; :meth:`health` says
how it goes (``/healthz`` → ``channels.telegram``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import GetMe
from aiogram.types import Update, User
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from channels.context import GatewayContext
from channels.telegram import keys
from channels.telegram.access import AccessPolicy
from channels.telegram.cards import CardStore
from channels.telegram.clicks import ClickHandler
from channels.telegram.errors import TelegramChannelError, TokenRefused
from channels.telegram.files import FileSaver
from channels.telegram.lanes import Background, ChatLanes
from channels.telegram.poller import LEASE_TTL, POLL_TIMEOUT, Poller
from channels.telegram.presence import Typing
from channels.telegram.receive import Intake
from channels.telegram.render import Renderer
from channels.telegram.route import CHANNEL
from channels.telegram.send import Sender
from channels.telegram.stream import Streams
from channels.telegram.webhook import Webhook, derive_secret
from core.config.models_channels import TelegramConfig
from core.errors import ConfigError
from core.wire import WireEvent

__all__ = ["TelegramChannel", "api_base_of", "make_bot"]

logger = logging.getLogger(__name__)

PUBLIC_API = "https://api.telegram.org"
MAX_RETRY = 60.0


def api_base_of(settings: TelegramConfig) -> str:
    return settings.api_base.rstrip("/") or PUBLIC_API


def make_bot(settings: TelegramConfig) -> Bot:
    """An aiogram Bot on ``apiBase``; a malformed token is a config error."""
    api = TelegramAPIServer.from_base(settings.api_base) if settings.api_base else None
    session = AiohttpSession(api=api) if api is not None else AiohttpSession()
    try:
        return Bot(settings.token.get_secret_value(), session=session)
    except TokenValidationError as exc:
        raise ConfigError(
            "not a Telegram bot token (expected <digits>:<secret>, as @BotFather gives it)",
            path="channels.telegram.token",
        ) from exc


class TelegramChannel:
    """Telegram for the gateway: receive, render, report health."""

    name = CHANNEL

    def __init__(
        self,
        ctx: GatewayContext,
        settings: TelegramConfig,
        *,
        bot: Bot | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        retry_delay: float = 1.0,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        """``bot`` replaces the one built from ``settings`` (its session is the seam to
        Telegram); the other options tune polling (tests make them short)."""
        self.ctx = ctx
        self.settings = settings
        self.bot = bot or make_bot(settings)
        self.sender = Sender(self.bot)
        self.policy = AccessPolicy(settings.allow_from, settings.approvers, settings.group_policy)
        self.cards = CardStore(ctx.redis)
        self.streams = Streams(ctx.redis, self.sender, interval=settings.stream_interval)
        self.typing = Typing(self.sender)
        self.renderer = Renderer(
            self.sender,
            self.streams,
            self.typing,
            self.cards,
            ctx.runtime,
            show_thoughts=settings.show_thoughts,
        )
        self.me: User | None = None
        background = Background()
        self.intake = Intake(
            ctx,
            settings,
            self.sender,
            self.policy,
            FileSaver(self.bot, self.sender, ctx.config.workspace, settings.max_file_size),
            ClickHandler(ctx, self.sender, self.policy, self.cards, background),
            bot_id=self.bot.id,
            me=lambda: self.me,
            background=background,
            lanes=ChatLanes(retry_delay=retry_delay),
        )
        self.api_base = api_base_of(settings)
        self.retry_delay = retry_delay
        self.poller: Poller | None = None
        self.webhook: Webhook | None = None
        if settings.mode == "polling":
            lease = ctx.runtime.lease(keys.poller(self.bot.id), lease_ttl, name="telegram polling")
            self.poller = Poller(
                self.bot,
                lease,
                self.intake.handle,
                timeout=poll_timeout,
                retry_delay=retry_delay,
                api_base=self.api_base,
                replay=self.intake.replay,
            )
        else:
            secret = settings.webhook_secret.get_secret_value() or derive_secret(
                settings.token.get_secret_value()
            )
            self.webhook = Webhook(
                settings.webhook_url,
                secret,
                self.intake.handle,
                bot=self.bot,
                ready=lambda: self.me is not None,
            )
        self._status = "starting"
        self._failed: str | None = None
        self._task: asyncio.Task[None] | None = None

    def routes(self, app: web.Application) -> None:
        if self.webhook is not None:
            self.webhook.route(app)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def _run(self) -> None:
        try:
            if not await self._identify():
                return
            if self.poller is not None:
                await self.poller.run()  # replays once it holds the polling lease
            elif self.webhook is not None:
                await self.intake.replay()
                await self._register(self.webhook)
        except Exception as exc:  # the task's boundary: the channel must not stop unseen
            self._failed = f"stopped: {type(exc).__name__}; see the log"
            logger.exception("telegram: the channel stopped")

    async def _identify(self) -> bool:
        """``getMe`` until it answers; False when the token is refused."""
        delay = self.retry_delay
        while True:
            try:
                self.me = await self.sender.call(GetMe(), "getMe")
            except TokenRefused as exc:
                self._status = str(exc)
                logger.error("telegram: %s; check channels.telegram.token", exc)
                return False
            except TelegramChannelError as exc:
                self._status = f"cannot reach {self.api_base}"
                logger.warning("telegram: getMe failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
                continue
            self._status = "ok"
            logger.info("telegram: running as @%s (%s)", self.me.username, self.settings.mode)
            return True

    async def _register(self, webhook: Webhook) -> None:
        delay = self.retry_delay
        while True:
            try:
                await webhook.register(self.sender)
            except TelegramChannelError as exc:
                self._status = f"setWebhook failed: {exc}"
                logger.warning("telegram: %s; retrying in %.0f s", self._status, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
                continue
            self._status = "ok"
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.intake.close()
        await self.streams.close()
        await self.typing.close()
        await self.bot.session.close()

    async def handle(self, update: Update) -> None:
        """Handle one update (what the poller and the webhook call)."""
        await self.intake.handle(update)

    async def render(self, event: WireEvent) -> None:
        await self.renderer.render(event)

    async def health(self) -> str:
        if self._failed is not None:
            return self._failed
        if self.poller is not None and self.me is not None:
            return self.poller.status
        return self._status
