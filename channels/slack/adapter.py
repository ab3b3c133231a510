"""The Slack channel as the gateway sees it (:class:`channels.base.Channel`).

It wires the parts: one ``AsyncWebClient`` on ``apiBase`` (the one seam to
Slack: tests point it at a loopback fake), the bolt app that receives
(:mod:`.app`) over Socket Mode (:mod:`.socket`) or on the gateway's HTTP
server (:mod:`.http`), the chat layer's conversation (intake, clicks,
rendering) over :class:`~channels.slack.platform.SlackPlatform`. ``start``
returns at once: the bot is identified (``auth.test``) and Socket Mode
connected in the background, so a Slack outage never keeps the gateway from
serving; :meth:`health` says how it goes (``/healthz`` → ``channels.slack``).

Threads: a mention in a channel opens a thread (the session of its ``ts``);
that thread is remembered in Redis (``facio:slack:thread:<scope>:<key>``, 30
days from its last mention) so later messages in it need no mention, on any
gateway. Clicks are answered through their ``response_url``: nothing when
the click decided (the card itself is edited to say who decided), else an
ephemeral message to the clicker only ("already decided", "only the person
who asked…", "expired"), the card left as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from channels.chat import AccessPolicy, Click, Conversation, MessageRef, Person, Texts
from channels.chat.clicks import UNKNOWN_BUTTON
from channels.chat.commands import help_text
from channels.context import GatewayContext
from channels.lanes import cancel_and_wait
from channels.slack.app import RETRY_LATER, build_app
from channels.slack.blocks import SlackPart, plain_text
from channels.slack.cards import ApprovalAction
from channels.slack.errors import SlackChannelError, SlackUnreachable, TokenRefused, WrongTokenType
from channels.slack.files import FileSaver
from channels.slack.http import HttpReceiver
from channels.slack.people import People
from channels.slack.platform import CHANNEL, SlackPlatform, card_message
from channels.slack.socket import LEASE_TTL, PING_INTERVAL, SocketReceiver
from channels.slack.translate import (
    MESSAGE_SUBTYPES,
    Message,
    incoming,
    is_dm,
    parse_click,
    parse_message,
    thread_of,
)
from channels.slack.web import SlackApi, api_base_of, make_client
from core.backoff import Backoff
from core.config.models_channels import SlackConfig
from core.wire import WireEvent

__all__ = ["THREAD_TTL", "Identity", "SlackChannel", "scope_of"]

logger = logging.getLogger(__name__)

MAX_RETRY = 60.0
THREAD_TTL = 30 * 24 * 3600
"""Seconds a thread the bot was mentioned in stays its (from the last mention)."""
RESPOND_TIMEOUT = 5


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the bot is, from ``auth.test``."""

    team_id: str
    user_id: str
    bot_id: str
    name: str
    team: str


def scope_of(bot_token: str) -> str:
    """A stable key for this app's state in Redis (known before ``auth.test``; no secret)."""
    return hashlib.sha256(b"facio-slack:" + bot_token.encode()).hexdigest()[:16]


def refusal(who: Person) -> str:
    return (
        f"Sorry <@{who.id}>, I only talk to people on my list. Your Slack user id is {who.id}: "
        "ask the owner to add it to channels.slack.allowFrom."
    )


class SlackChannel:
    """Slack for the gateway: receive, render, report health."""

    name = CHANNEL

    def __init__(
        self,
        ctx: GatewayContext,
        settings: SlackConfig,
        *,
        retry_delay: float = 1.0,
        lease_ttl: float = LEASE_TTL,
        ping_interval: float = PING_INTERVAL,
        web_timeout: int = 30,
    ) -> None:
        """The options tune retries, the lease and pings (tests make them short)."""
        self.ctx = ctx
        self.settings = settings
        self.retry_delay = retry_delay
        token = settings.bot_token.get_secret_value()
        self.scope = scope_of(token)
        self.api_base = api_base_of(settings.api_base)
        # slack_sdk applies its timeout only to sessions it makes: this one carries it
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=web_timeout))
        self.client = make_client(
            token, settings.api_base, session=self.session, timeout=web_timeout
        )
        self.me: Identity | None = None
        self.api = SlackApi(self.client, retry_delay=retry_delay)
        self.platform = SlackPlatform(self.api, edit_interval=settings.stream_interval)
        self.people = People(self.api)
        self.policy = AccessPolicy(
            settings.allow_from, settings.approvers, open_groups=settings.channel_policy == "open"
        )
        files = FileSaver(
            self.api,
            self.session,
            token,
            ctx.config.workspace,
            settings.max_file_size,
            api_host=(urlsplit(self.api_base).hostname or "") if settings.api_base else "",
        )
        self.conversation: Conversation[SlackPart] = Conversation(
            ctx,
            self.platform,
            policy=self.policy,
            texts=Texts(refusal=refusal, help=self._help),
            bot=settings.bot,
            scope=self.scope,
            files=files,
            redeliver=self._redeliver,
            stream_interval=settings.stream_interval,
            show_thoughts=settings.show_thoughts,
            retry_delay=retry_delay,
        )
        self.events = ctx.metrics.counter(
            "facio_slack_events_total", "Slack events and clicks received, by kind.", ("kind",)
        )
        http = settings.mode == "http"
        secret = settings.signing_secret.get_secret_value() if http else ""
        self.app = build_app(self.client, secret, self)
        self.socket: SocketReceiver | None = None
        self.http: HttpReceiver | None = None
        if http:
            self.http = HttpReceiver(self.app, secret, settings.path)
        else:
            lease = ctx.runtime.lease(
                ctx.runtime.key(CHANNEL, "socket", self.scope), lease_ttl, name="slack socket mode"
            )
            self.socket = SocketReceiver(
                self.app,
                settings.app_token.get_secret_value(),
                self.api,
                lease,
                ping_interval=ping_interval,
                retry_delay=retry_delay,
                replay=self.conversation.intake.replay,
            )
        self._status = "starting"
        self._failed: str | None = None
        self._task: asyncio.Task[None] | None = None

    def _help(self, who: Person) -> str:
        bot = f"<@{self.me.user_id}>" if self.me else "this app"
        hint = (
            "In channels, mention me: I answer in a thread, and there you can write without "
            "mentioning me."
        )
        return help_text(bot, "Slack", who.id, hint)

    # --- the Channel protocol ----------------------------------------------

    def routes(self, app: web.Application) -> None:
        if self.http is not None:
            self.http.route(app)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slack")

    async def _run(self) -> None:
        try:
            if not await self._identify():
                return
            if self.socket is not None:
                await self.socket.run()  # replays once it holds the lease
            else:
                await self.conversation.intake.replay()
        except Exception as exc:  # the task's boundary: the channel must not stop unseen
            self._failed = f"stopped: {type(exc).__name__}; see the log"
            logger.exception("slack: the channel stopped")

    async def _identify(self) -> bool:
        """``auth.test`` until it answers; False when the bot token is refused."""
        backoff = Backoff(self.retry_delay, MAX_RETRY)
        while True:
            try:
                reply = await self.api.call("auth.test")
            except (TokenRefused, WrongTokenType) as exc:
                self._status = (
                    f"the Slack bot token was refused ({exc}); check channels.slack.botToken"
                )
                logger.error("slack: %s", self._status)
                return False
            except SlackChannelError as exc:
                self._status = f"cannot reach {self.api_base} ({exc})"
                delay = backoff.next()
                logger.warning("slack: auth.test failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            self.me = Identity(
                str(reply.get("team_id") or ""),
                str(reply.get("user_id") or ""),
                str(reply.get("bot_id") or ""),
                str(reply.get("user") or ""),
                str(reply.get("team") or ""),
            )
            self._status = "ok"
            logger.info(
                "slack: running as @%s in %s (%s mode)",
                self.me.name,
                self.me.team,
                self.settings.mode,
            )
            return True

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.conversation.close()
        await self.session.close()

    async def render(self, event: WireEvent) -> None:
        await self.conversation.render(event)

    async def health(self) -> str:
        if self._failed is not None:
            return self._failed
        if self._status != "ok" or self.socket is None:
            return self._status
        return await self.socket.health()

    # --- what bolt hands over (channels.slack.app.Handlers) ------------------

    async def event(self, body: dict[str, Any]) -> None:
        """A ``message`` or ``app_mention`` event; a Redis failure propagates (no ack, so
        Slack delivers it again), anything else is logged and the event acknowledged."""
        try:
            await self._event(body)
        except RedisError:
            RETRY_LATER.set(True)
            logger.warning(
                "slack: Redis failed on event %s; Slack will retry", body.get("event_id")
            )
            raise
        except (ValueError, SlackChannelError) as exc:
            logger.warning("slack: event %s skipped: %s", body.get("event_id"), exc)
        except Exception:  # the event's boundary: a poison event is logged, not retried forever
            logger.exception("slack: handling event %s failed; skipped", body.get("event_id"))

    async def _event(self, body: dict[str, Any]) -> None:
        raw = body.get("event")
        if not isinstance(raw, dict):
            raise ValueError("an event callback without an event")
        message = parse_message(raw)
        team = str(body.get("team_id") or message.team or "")
        edited_ts = ""
        if message.subtype == "message_changed":
            changed = self._edit(message)
            if changed is None:
                self.events.inc(kind="other")
                return
            message, edited_ts = changed
        elif message.subtype not in MESSAGE_SUBTYPES:
            self.events.inc(kind="other")
            return
        self.events.inc(kind=message.type if not edited_ts else "edited")
        me = self.me
        bot_user = me.user_id if me else ""
        if message.user is None or message.bot_id or message.user == bot_user:
            return  # other bots and integrations; bolt drops the bot's own events
        person = await self.people.person(message.user)
        dm = is_dm(message.channel, message.channel_type)
        thread = thread_of(message)
        key = self.ctx.runtime.key(CHANNEL, "thread", self.scope, team, message.channel, thread)
        in_bot_thread = bool(thread) and not dm and bool(await self.ctx.redis.exists(key))
        item = incoming(
            message,
            person,
            team=team,
            bot_user_id=bot_user,
            in_bot_thread=in_bot_thread,
            edited_ts=edited_ts,
        )
        if item.group and item.addressed and self.policy.allowed(person):
            # the thread this message is in (or opens) is the bot's from now on
            opened = self.ctx.runtime.key(
                CHANNEL, "thread", self.scope, team, message.channel, item.target.thread
            )
            await self.ctx.redis.set(opened, "1", ex=THREAD_TTL)
        await self.conversation.intake.message(item, json.dumps(body))

    def _edit(self, event: Message) -> tuple[Message, str] | None:
        """The edited message and the edit's ``ts``; None when it is no edit of a person's
        text (the bot's own messages, unfurls, which change attachments only)."""
        inner, before = event.message, event.previous_message
        if inner is None or inner.subtype not in MESSAGE_SUBTYPES or inner.bot_id:
            return None
        if before is not None and before.text == inner.text:
            return None
        edited = inner.model_copy(
            update={"channel": event.channel, "channel_type": event.channel_type}
        )
        return edited, (inner.edited.ts if inner.edited and inner.edited.ts else event.ts)

    async def _redeliver(self, raw: str) -> None:
        await self._event(json.loads(raw))

    async def click(self, body: dict[str, Any]) -> None:
        """A click on an approval button (acknowledged already): decide, answer the clicker."""
        self.events.inc(kind="block_actions")
        try:
            await self._click(body)
        except RedisError:
            RETRY_LATER.set(True)
            raise
        except ValueError as exc:
            logger.warning("slack: click skipped: %s", exc)
        except Exception:  # the click's boundary
            logger.exception("slack: handling a click failed")

    async def _click(self, body: dict[str, Any]) -> None:
        payload = parse_click(body)
        action = payload.actions[0]
        try:
            chosen = ApprovalAction.unpack(action.action_id, action.value)
        except ValueError:
            self._respond(payload.response_url, UNKNOWN_BUTTON)
            return
        where = payload.container
        card = MessageRef(where.channel_id, where.message_ts) if where.message_ts else None
        shown = card_message(payload.message)
        if card is not None and shown is not None:
            self.platform.remember(card, shown)
        user = payload.user
        person = Person(user.id, user.username, user.name)
        event_id = f"click:{payload.trigger_id}" if payload.trigger_id else ""
        answer = await self.conversation.clicks.handle(
            Click(chosen.approval_id, chosen.choice, person, card, event_id)
        )
        if answer is not None and not answer.decided:
            self._respond(payload.response_url, answer.text)

    async def foreign_click(self, body: dict[str, Any]) -> None:
        """A click on a button that is not facio's."""
        try:
            payload = parse_click(body)
        except ValueError as exc:
            logger.warning("slack: click skipped: %s", exc)
            return
        self._respond(payload.response_url, UNKNOWN_BUTTON)

    def _respond(self, response_url: str, text: str) -> None:
        """An ephemeral answer to the clicker (the card stays as it is), in the background."""
        if not self._trusted_hook(response_url):
            logger.warning("slack: a click's response_url is not Slack's; not answered")
            return
        self.conversation.intake.background.spawn(
            self._post_response(response_url, text), "slack-click-answer"
        )

    def _trusted_hook(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
            return True
        own = urlsplit(self.api_base)
        return (
            bool(self.settings.api_base) and host == (own.hostname or "") and parts.port == own.port
        )

    async def _post_response(self, url: str, text: str) -> None:
        hook = AsyncWebhookClient(url, session=self.session, timeout=RESPOND_TIMEOUT)
        try:
            reply = await hook.send(
                text=plain_text(text), response_type="ephemeral", replace_original=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning(
                "slack: answering a click failed: %s", SlackUnreachable(type(exc).__name__)
            )
            return
        if reply.status_code != 200:
            logger.warning(
                "slack: answering a click failed: HTTP %s %s", reply.status_code, reply.body[:80]
            )
