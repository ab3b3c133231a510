"""The Discord channel as the gateway sees it (:class:`channels.base.Channel`).

It wires the parts: facio's ``discord.Client`` (:mod:`.client`) pointed at
``apiBase``/``gatewayUrl`` (:mod:`.endpoints`, the one seam to Discord: tests
point it at a loopback fake), the chat layer's :class:`Conversation` on a
:class:`~channels.discord.platform.DiscordPlatform`, the gateway connection
under its lease (:mod:`.connection`) and the click answers (:mod:`.interactions`).

``start`` returns at once: the login (REST) and the connection run in the
background, so a Discord outage never keeps the gateway from serving;
:meth:`health` says how it goes (``/healthz`` → ``channels.discord``).

Messages are handed over by discord.py one task per event; they are put in
one queue and handled in arrival order (the chat layer's intake moves a
message with an attachment to its channel's lane). A Redis failure while
handling one is retried a few times — the gateway does not deliver an event
twice — then the message is dropped with an error in the log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import discord
from aiohttp import web
from redis.exceptions import RedisError

from channels.chat import AccessPolicy, Click, Conversation, MessageRef, Person, Texts
from channels.chat.clicks import UNKNOWN_BUTTON
from channels.chat.commands import UNKNOWN_COMMAND, help_text
from channels.chat.errors import ChatError
from channels.chat.intake import Incoming
from channels.context import GatewayContext
from channels.discord.cards import parse_custom_id
from channels.discord.client import GUILD_READY_TIMEOUT, FacioClient
from channels.discord.commands import command_text, register
from channels.discord.connection import LEASE_TTL, Connection
from channels.discord.endpoints import discover_gateway, release_endpoints, use_endpoints
from channels.discord.errors import CALL_FAILURES, TokenRefused, map_error
from channels.discord.files import FileSaver
from channels.discord.interactions import DEADLINE, answer_click, say_privately
from channels.discord.platform import DiscordPlatform
from channels.discord.send import SEND_TIMEOUT, Sender
from channels.discord.text import DiscordText
from channels.discord.translate import (
    ANSWERED_TYPES,
    CHANNEL,
    command_incoming,
    dump,
    incoming,
    load,
    person,
)
from channels.lanes import cancel_and_wait
from channels.runtime import Decision
from core.backoff import Backoff
from core.config.models_channels import DiscordConfig
from core.wire import WireEvent

__all__ = ["DiscordChannel", "bot_id_of", "refusal"]

logger = logging.getLogger(__name__)

MAX_RETRY = 60.0
REDIS_ATTEMPTS = 5


def bot_id_of(token: str) -> str:
    """The bot's id, which a Discord token starts with (base64); a hash of the token
    when it does not look like one (the login will say so)."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if decoded.isdigit():
        return decoded
    return "t" + hashlib.sha256(token.encode()).hexdigest()[:16]


def refusal(who: Person) -> str:
    return (
        f"Sorry, I only talk to people on my list. Your Discord user id is {who.id}: "
        "ask the owner to add it to channels.discord.allowFrom."
    )


def _shows(message: discord.Message | None, custom_id: str) -> bool:
    """Does ``message`` (as the click delivered it) still have this button?"""
    if message is None:
        return False
    for row in message.components:
        for item in getattr(row, "children", [row]):
            if getattr(item, "custom_id", None) == custom_id:
                return True
    return False


class DiscordChannel:
    """Discord for the gateway: receive, render, answer clicks, report health."""

    name = CHANNEL

    def __init__(
        self,
        ctx: GatewayContext,
        settings: DiscordConfig,
        *,
        guild_ready_timeout: float = GUILD_READY_TIMEOUT,
        lease_ttl: float = LEASE_TTL,
        retry_delay: float = 1.0,
        send_timeout: float = SEND_TIMEOUT,
        click_deadline: float = DEADLINE,
        fast_identify: bool = False,
    ) -> None:
        """The options tune timings (tests make them short); ``fast_identify`` drops
        discord.py's 5 s pause before a re-IDENTIFY."""
        self.ctx = ctx
        self.settings = settings
        self.token = settings.token.get_secret_value().strip()
        self.bot_id = bot_id_of(self.token)
        self.retry_delay = retry_delay
        self.click_deadline = click_deadline
        self.client = FacioClient(
            self, guild_ready_timeout=guild_ready_timeout, fast_identify=fast_identify
        )
        self.sender = Sender(self.client, self.token, timeout=send_timeout)
        self.platform = DiscordPlatform(self.sender)
        self.files = FileSaver(ctx.config.workspace, settings.max_file_size)
        self.policy = AccessPolicy(
            settings.allow_from, settings.approvers, open_groups=settings.guild_policy == "open"
        )
        self.conversation: Conversation[DiscordText] = Conversation(
            ctx,
            self.platform,
            policy=self.policy,
            texts=Texts(refusal=refusal, help=self._help),
            bot=settings.bot,
            scope=self.bot_id,
            files=self.files,
            redeliver=self._redeliver,
            stream_interval=settings.stream_interval,
            show_thoughts=settings.show_thoughts,
            retry_delay=retry_delay,
        )
        lease = ctx.runtime.lease(
            ctx.runtime.key(CHANNEL, "gateway", self.bot_id), lease_ttl, name="discord gateway"
        )
        self.connection = Connection(
            self.client,
            lease,
            token=self.token,
            report=self._report,
            retry_delay=retry_delay,
            replay=self.conversation.intake.replay,
        )
        self.events = ctx.metrics.counter(
            "facio_discord_events_total", "Discord gateway events, by kind.", ("kind",)
        )
        self._queue: asyncio.Queue[tuple[str, Callable[[], Incoming]]] = asyncio.Queue()
        """What came, in order: what it is (for the log), and how to read it."""
        self._status = "starting"
        self._failed: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._intake: asyncio.Task[None] | None = None
        self._registering: asyncio.Task[bool] | None = None
        self._endpoints = False

    def _help(self, who: Person) -> str:
        me = self.client.user
        bot = f"@{me.name}" if me is not None else "this bot"
        return help_text(bot, "Discord", who.id, "In servers, mention me or reply to me.")

    def _report(self, status: str) -> None:
        self._status = "ok" if status == "standing by" else status

    # --- lifecycle ----------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        return None  # the gateway websocket needs no HTTP route

    async def start(self) -> None:
        use_endpoints(self.settings.api_base, self.settings.gateway_url)
        self._endpoints = True
        self._intake = asyncio.create_task(self._handle_messages(), name="discord-intake")
        self._task = asyncio.create_task(self._run(), name="discord")

    async def _run(self) -> None:
        try:
            if not await self._login():
                return
            await self.connection.run()  # returns only after a fatal error
        except Exception as exc:  # the task's boundary: the channel must not stop unseen
            self._failed = f"stopped: {type(exc).__name__}; see the log"
            logger.exception("discord: the channel stopped")

    async def _login(self) -> bool:
        """Log in over REST until Discord answers; False when the token is refused."""
        backoff = Backoff(self.retry_delay, cap=MAX_RETRY)
        while True:
            try:
                await self.client.login(self.token)
                if self.settings.api_base and not self.settings.gateway_url:
                    await discover_gateway(self.client.http)
            except CALL_FAILURES as exc:
                error = map_error(exc, "logging in", self.token)
                if isinstance(error, TokenRefused):
                    self._status = str(error)
                    logger.error("discord: %s; check channels.discord.token", error)
                    return False
                self._status = f"cannot log in: {error}"
                delay = backoff.next()
                logger.warning("discord: %s; retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                continue
            me = self.client.user
            logger.info("discord: logged in as @%s (%s)", me.name if me else "?", self.bot_id)
            return True

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await cancel_and_wait(self._intake)
        self._intake = None
        await cancel_and_wait(self._registering)
        self._registering = None
        await self.conversation.close()
        await self.files.close()
        await self.client.close()
        if self._endpoints:
            release_endpoints()
            self._endpoints = False

    async def render(self, event: WireEvent) -> None:
        await self.conversation.render(event)

    @property
    def status(self) -> str:
        """``ok`` (connected, or standing by while another gateway holds the connection),
        else what is wrong; what :meth:`health` reports."""
        return self._failed or self._status

    async def health(self) -> str:
        return self.status

    # --- what the client hands on (channels.discord.client.Events) ------------

    def ready(self) -> None:
        self._status = "ok"
        logger.info("discord: connected, %d server(s)", len(self.client.guilds))
        application = self.client.application_id
        if application is not None and (self._registering is None or self._registering.done()):
            self._registering = asyncio.create_task(
                register(self.client.http, application, self.token), name="discord-commands"
            )

    def malformed(self, event: str, exc: Exception) -> None:
        self.events.inc(kind="malformed")
        logger.warning(
            "discord: a malformed %s event was skipped (%s: %s)", event, type(exc).__name__, exc
        )

    def message(self, message: discord.Message, *, edited: bool = False) -> None:
        me = self.client.user
        if message.author.bot or (me is not None and message.author.id == me.id):
            self.events.inc(kind="bot_message")
            return  # its own messages come back as events; other bots are not people
        if message.type not in ANSWERED_TYPES:
            self.events.inc(kind="system_message")
            return
        self.events.inc(kind="edit" if edited else "message")
        self._queue.put_nowait(
            (f"message {message.id}", lambda: incoming(message, self.client.user, edited=edited))
        )

    async def _handle_messages(self) -> None:
        while True:
            what, read = await self._queue.get()
            try:
                await self._handle(read())
            except Exception:  # the loop boundary: one bad message must not stop the intake
                logger.exception("discord: handling %s failed; skipped", what)

    async def _handle(self, item: Incoming, raw: str = "") -> None:
        backoff = Backoff(self.retry_delay, cap=10.0)
        for attempt in range(REDIS_ATTEMPTS):
            try:
                await self.conversation.intake.message(item, raw or dump(item))
                return
            except RedisError as exc:
                if attempt + 1 == REDIS_ATTEMPTS:
                    logger.error(
                        "discord: Redis failed on message %s; dropped: %s", item.message, exc
                    )
                    return
                delay = backoff.next()
                logger.warning(
                    "discord: Redis failed on message %s (%s); retrying", item.message, exc
                )
                await asyncio.sleep(delay)
            except ChatError as exc:
                logger.warning(
                    "discord: handling message %s failed; skipped: %s", item.message, exc
                )
                return

    async def _redeliver(self, raw: str) -> None:
        await self.conversation.intake.message(load(raw), raw)

    async def interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Component clicks that are not approval buttons get a short answer; approval
        buttons are routed by their ``DynamicItem`` to :meth:`approval_click`. Slash
        commands: :meth:`slash_command`."""
        if interaction.type is discord.InteractionType.application_command:
            await self.slash_command(interaction)
            return
        if interaction.type is not discord.InteractionType.component:
            return
        self.events.inc(kind="click")
        data: Any = interaction.data or {}
        custom_id = data.get("custom_id") if isinstance(data, dict) else None
        ours = parse_custom_id(custom_id) if isinstance(custom_id, str) else None
        if ours is not None:
            if not _shows(interaction.message, str(custom_id)):
                # discord.py routes a DynamicItem only when the clicked message still shows
                # it; a click from a stale client on a decided card would go unanswered
                await self.approval_click(interaction, *ours)
            return
        if await self.conversation.intake.claim(f"i:{interaction.id}"):
            await say_privately(interaction, UNKNOWN_BUTTON, self.token)

    async def slash_command(self, interaction: discord.Interaction[Any]) -> None:
        """A slash command (channels.discord.commands): answered at once, privately, then
        handled in order with the messages, as if the person had typed it there. A
        person not on ``allowFrom`` is told so privately (wherever they ran it: the
        menu lists the commands to everyone in a server), and nothing runs."""
        self.events.inc(kind="command")
        data: Any = interaction.data or {}
        text = command_text(data) if isinstance(data, dict) else None
        item = command_incoming(interaction, text) if text else None
        if item is None:
            await say_privately(interaction, UNKNOWN_COMMAND, self.token)
            return
        if not self.policy.allowed(item.person):  # told privately, nothing run
            await say_privately(interaction, refusal(item.person), self.token)
            return
        await say_privately(interaction, f"{text} ✓", self.token)
        self._queue.put_nowait((f"command {interaction.id}", lambda: item))

    async def approval_click(
        self, interaction: discord.Interaction[Any], approval_id: str, choice: Decision
    ) -> None:
        message = interaction.message
        card = (
            MessageRef(str(interaction.channel_id), str(message.id))
            if message is not None and interaction.channel_id is not None
            else None
        )
        click = Click(approval_id, choice, person(interaction.user), card, f"i:{interaction.id}")
        await answer_click(
            interaction,
            self.conversation.clicks.handle(click),
            deadline=self.click_deadline,
            token=self.token,
        )
