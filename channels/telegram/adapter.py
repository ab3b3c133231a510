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
import logging

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import GetMe
from aiogram.types import CallbackQuery, Message, Update, User
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from channels.chat import AccessPolicy, Click, Conversation, MessageRef, Person, Texts
from channels.chat.clicks import UNKNOWN_BUTTON
from channels.chat.commands import help_text
from channels.context import GatewayContext
from channels.lanes import cancel_and_wait
from channels.telegram.cards import ApprovalClick
from channels.telegram.errors import TelegramChannelError, TokenRefused
from channels.telegram.files import FileSaver
from channels.telegram.formatted import Formatted
from channels.telegram.platform import CHANNEL, TelegramPlatform
from channels.telegram.poller import LEASE_TTL, POLL_TIMEOUT, Poller
from channels.telegram.send import Sender
from channels.telegram.translate import incoming, person
from channels.telegram.webhook import Webhook, derive_secret
from core.backoff import Backoff
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


def refusal(who: Person) -> str:
    return (
        f"Sorry, I only talk to people on my list. Your Telegram user id is {who.id}: "
        "ask the owner to add it to channels.telegram.allowFrom."
    )


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
        self.platform = TelegramPlatform(self.sender)
        self.me: User | None = None
        self.conversation: Conversation[Formatted] = Conversation(
            ctx,
            self.platform,
            policy=AccessPolicy(
                settings.allow_from,
                settings.approvers,
                open_groups=settings.group_policy == "open",
            ),
            texts=Texts(refusal=refusal, help=self._help),
            bot=settings.bot,
            scope=str(self.bot.id),
            files=FileSaver(self.bot, self.sender, ctx.config.workspace, settings.max_file_size),
            redeliver=self._redeliver,
            stream_interval=settings.stream_interval,
            show_thoughts=settings.show_thoughts,
            retry_delay=retry_delay,
        )
        self.updates = ctx.metrics.counter(
            "facio_telegram_updates_total", "Telegram updates received, by kind.", ("kind",)
        )
        self.api_base = api_base_of(settings)
        self.retry_delay = retry_delay
        self.poller: Poller | None = None
        self.webhook: Webhook | None = None
        if settings.mode == "polling":
            lease = ctx.runtime.lease(
                ctx.runtime.key(CHANNEL, "poller", self.bot.id), lease_ttl, name="telegram polling"
            )
            self.poller = Poller(
                self.bot,
                lease,
                self.handle,
                timeout=poll_timeout,
                retry_delay=retry_delay,
                api_base=self.api_base,
                replay=self.conversation.intake.replay,
            )
        else:
            secret = settings.webhook_secret.get_secret_value() or derive_secret(
                settings.token.get_secret_value()
            )
            self.webhook = Webhook(
                settings.webhook_url,
                secret,
                self.handle,
                bot=self.bot,
                ready=lambda: self.me is not None,
            )
        self._status = "starting"
        self._failed: str | None = None
        self._task: asyncio.Task[None] | None = None

    def _help(self, who: Person) -> str:
        me = self.me
        bot = f"@{me.username}" if me is not None and me.username else "this bot"
        return help_text(bot, "Telegram", who.id, "In groups, mention me or reply to me.")

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
                await self.conversation.intake.replay()
                await self._register(self.webhook)
        except Exception as exc:  # the task's boundary: the channel must not stop unseen
            self._failed = f"stopped: {type(exc).__name__}; see the log"
            logger.exception("telegram: the channel stopped")

    async def _identify(self) -> bool:
        """``getMe`` until it answers; False when the token is refused."""
        backoff = Backoff(self.retry_delay, MAX_RETRY)
        while True:
            try:
                self.me = await self.sender.call(GetMe(), "getMe")
            except TokenRefused as exc:
                self._status = str(exc)
                logger.error("telegram: %s; check channels.telegram.token", exc)
                return False
            except TelegramChannelError as exc:
                self._status = f"cannot reach {self.api_base}"
                delay = backoff.next()
                logger.warning("telegram: getMe failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            self._status = "ok"
            logger.info("telegram: running as @%s (%s)", self.me.username, self.settings.mode)
            return True

    async def _register(self, webhook: Webhook) -> None:
        backoff = Backoff(self.retry_delay, MAX_RETRY)
        while True:
            try:
                await webhook.register(self.sender)
            except TelegramChannelError as exc:
                self._status = f"setWebhook failed: {exc}"
                delay = backoff.next()
                logger.warning("telegram: %s; retrying in %.0f s", self._status, delay)
                await asyncio.sleep(delay)
                continue
            self._status = "ok"
            return

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.conversation.close()
        await self.bot.session.close()

    async def handle(self, update: Update) -> None:
        """Handle one update (what the poller and the webhook call); a Redis error
        propagates, so the update is not confirmed and Telegram sends it again."""
        event_id = f"{self.bot.id}:{update.update_id}"
        if update.callback_query is not None:
            self.updates.inc(kind="callback_query")
            await self._click(event_id, update.callback_query)
            return
        message = update.message or update.edited_message
        if message is None:
            self.updates.inc(kind="other")
            logger.info("telegram: update %s is of a kind facio ignores", update.update_id)
            return
        self.updates.inc(kind="message" if update.message else "edited_message")
        user = message.from_user
        if user is None or message.chat.type == "channel":
            return
        item = incoming(message, user, event_id=event_id, me=self.me, edited=update.message is None)
        raw = update.model_dump_json(by_alias=True, exclude_none=True)
        await self.conversation.intake.message(item, raw)

    async def _redeliver(self, raw: str) -> None:
        await self.handle(Update.model_validate_json(raw))

    async def _click(self, event_id: str, query: CallbackQuery) -> None:
        """Decide a button click, then answer it in the background: a flood wait on the
        answer must not hold the intake (Telegram takes an answer only shortly after)."""
        try:
            payload = ApprovalClick.unpack(query.data or "")
        except (TypeError, ValueError):
            if await self.conversation.intake.claim(event_id):
                self._answer(query.id, UNKNOWN_BUTTON)
            return
        message = query.message
        card = None
        if isinstance(message, Message):  # not an "inaccessible" (too old) one
            card = MessageRef(str(message.chat.id), str(message.message_id))
        click = Click(payload.id, payload.choice, person(query.from_user), card, event_id)
        answer = await self.conversation.clicks.handle(click)
        if answer is not None:
            self._answer(query.id, answer.text)

    def _answer(self, query_id: str, text: str) -> None:
        self.conversation.intake.background.spawn(
            self._reply(query_id, text), f"telegram-answer-{query_id}"
        )

    async def _reply(self, query_id: str, text: str) -> None:
        try:
            await self.sender.answer(query_id, text)
        except TelegramChannelError as exc:
            logger.warning("telegram: answering click %s failed: %s", query_id, exc)

    async def render(self, event: WireEvent) -> None:
        await self.conversation.render(event)

    async def health(self) -> str:
        if self._failed is not None:
            return self._failed
        if self.poller is not None and self.me is not None:
            return self.poller.status
        return self._status
