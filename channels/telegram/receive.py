"""Updates in: dedupe, access, commands, files, then a turn (an :class:`Inbound`).

Every update is handled once (DESIGN.md rule 2): a message that becomes a
turn is deduplicated by :func:`workers.inbox.submit` itself, atomically with
the enqueue (event id ``<bot id>:<update id>``); everything else — clicks,
commands, refusals, notes — first claims the same ``facio:seen:`` key.

What reaches the agent: the text (or a photo's caption) as written; in
groups prefixed with the sender's name; an edited message marked
"(edited)"; a sticker as its emoji; a file saved under the workspace and
named in the text (and in ``Inbound.attachments``). Locations, polls,
contacts and the like get a short note instead; service messages (joins,
pins) are ignored.

Order and speed: updates run inline, in arrival order, except a message with
a file (a download of up to two minutes), which runs in its chat's lane
(:mod:`.lanes`) with the chat's later updates queued behind it — other chats
go on meanwhile. Replies are sent in the background, so a flood wait in one
chat never holds the intake.

An update handed to a lane is confirmed to Telegram before it is handled, so
a copy is kept in Redis (``facio:telegram:lane:{bot_id}``) until its job is
done: one that a stop (or a crash) cut short is replayed on the next start
(:meth:`Intake.replay`), and the dedupe keys make a replay of what did get
through harmless.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from aiogram.types import Message, Update, User
from redis.exceptions import RedisError

from channels.context import GatewayContext
from channels.telegram import keys as tg_keys
from channels.telegram.access import AccessPolicy, display_name
from channels.telegram.clicks import ClickHandler
from channels.telegram.commands import COMMANDS, parse_command, run_command
from channels.telegram.errors import TelegramChannelError
from channels.telegram.files import FileSaver, FileTooLarge, incoming_file
from channels.telegram.formatted import Formatted
from channels.telegram.lanes import Background, ChatLanes
from channels.telegram.route import CHANNEL, is_group, reply_to_of, session_key_of
from channels.telegram.send import ChatTarget, Sender
from core.config.models_channels import TelegramConfig
from core.inbound import Attachment, Inbound

__all__ = ["REFUSAL_TTL", "Intake"]

logger = logging.getLogger(__name__)

REFUSAL_TTL = 24 * 3600
"""A stranger is told their id once per this many seconds, not on every message."""
LANE_KEEP = 24 * 3600
"""Seconds an update cut short in a lane is kept for a replay on the next start."""
UNSUPPORTED_NOTE = "I can read text, photos and files; I can't use this kind of message yet."
UNSUPPORTED = frozenset(
    {"location", "venue", "contact", "poll", "dice", "game", "story", "invoice", "checklist"}
)


def refusal(user: User) -> str:
    return (
        f"Sorry, I only talk to people on my list. Your Telegram user id is {user.id}: "
        "ask the owner to add it to channels.telegram.allowFrom."
    )


class Intake:
    """Handles updates (from the poller or the webhook): in order per chat, chats side by
    side where an update takes long (see the module docstring)."""

    def __init__(
        self,
        ctx: GatewayContext,
        settings: TelegramConfig,
        sender: Sender,
        policy: AccessPolicy,
        files: FileSaver,
        clicks: ClickHandler,
        *,
        bot_id: int,
        me: Callable[[], User | None],
        background: Background,
        lanes: ChatLanes,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.sender = sender
        self.policy = policy
        self.files = files
        self.clicks = clicks
        self.bot_id = bot_id
        self.me = me
        self.background = background
        self.lanes = lanes
        self._in_lanes: set[int] = set()
        """Update ids handed to this gateway's lanes and not done yet."""
        self.updates = ctx.metrics.counter(
            "facio_telegram_updates_total", "Telegram updates received, by kind.", ("kind",)
        )

    def _event_id(self, update_id: int) -> str:
        return f"{self.bot_id}:{update_id}"

    async def _claim(self, update_id: int) -> bool:
        """True the first time ``update_id`` is seen (for updates that are not turns)."""
        return await self.ctx.runtime.claim_event(CHANNEL, self._event_id(update_id))

    async def handle(self, update: Update) -> None:
        if update.callback_query is not None:
            self.updates.inc(kind="callback_query")
            if await self._claim(update.update_id):
                await self.clicks.handle(update.callback_query)
            return
        message = update.message or update.edited_message
        if message is None:
            self.updates.inc(kind="other")
            logger.info("telegram: update %s is of a kind facio ignores", update.update_id)
            return
        self.updates.inc(kind="message" if update.message else "edited_message")
        edited = update.message is None
        chat_id = message.chat.id
        if incoming_file(message) is None and not self.lanes.busy(chat_id):
            await self._message(update.update_id, message, edited=edited)
            return
        lane = tg_keys.lane(self.bot_id)
        async with self.ctx.redis.pipeline(transaction=True) as pipe:
            kept = update.model_dump_json(by_alias=True, exclude_none=True)
            pipe.hset(lane, str(update.update_id), kept)
            pipe.expire(lane, LANE_KEEP)
            await pipe.execute()

        async def job() -> None:
            try:
                await self._message(update.update_id, message, edited=edited)
            except RedisError:
                raise  # retried in the lane; the copy stays until it is done
            except Exception:
                await self._lane_done(update.update_id)  # not retried: the lane logs it
                raise
            await self._lane_done(update.update_id)

        self._in_lanes.add(update.update_id)
        await self.lanes.run(chat_id, job)

    async def _lane_done(self, update_id: int) -> None:
        self._in_lanes.discard(update_id)
        await self.ctx.redis.hdel(tg_keys.lane(self.bot_id), str(update_id))  # type: ignore[misc]

    async def replay(self) -> None:
        """Handle the updates a stop (or crash) left in lanes, oldest first: the poller
        confirmed them, so Telegram will not send them again. Run by the poller when it
        wins the lease (a standby gateway must not take a running poller's), or at the
        start in webhook mode. Each is claimed by deleting it, so only one gateway
        replays it; this gateway's own lane jobs, still running, are left alone."""
        lane = tg_keys.lane(self.bot_id)
        try:
            left = await self.ctx.redis.hgetall(lane)  # type: ignore[misc]
        except RedisError as exc:
            logger.warning("telegram: updates cut short by the last stop not read: %s", exc)
            return
        for field, raw in sorted(left.items(), key=lambda item: int(item[0])):
            if int(field) in self._in_lanes:
                continue
            try:
                if not await self.ctx.redis.hdel(lane, field):  # type: ignore[misc]
                    continue  # another gateway took it
            except RedisError as exc:
                logger.warning("telegram: replay stopped, Redis unavailable: %s", exc)
                return  # what is left stays for the next start
            try:
                update = Update.model_validate_json(raw)
                logger.info("telegram: handling update %s, cut short by the last stop", field)
                await self.handle(update)
            except RedisError as exc:
                # the saved copy is the only one left (Telegram has it as received):
                # put it back for the next start rather than lose it
                logger.warning("telegram: replaying update %s failed, kept: %s", field, exc)
                with contextlib.suppress(RedisError):
                    await self.ctx.redis.hset(lane, field, raw)  # type: ignore[misc]
                return
            except Exception:  # the loop boundary, as in the poller: log it, go on
                logger.exception("telegram: replaying update %s failed; skipped", field)

    async def _message(self, update_id: int, message: Message, *, edited: bool) -> None:
        user = message.from_user
        if user is None or user.is_bot or message.chat.type == "channel":
            return
        group = is_group(message)
        if not self.policy.allowed(user):
            if not group and await self._claim(update_id):
                await self._refuse(user, message)
            return  # in groups strangers are ignored
        me = self.me()
        command = parse_command(message, me)
        if command is not None and not command.mine:
            return
        if command is not None and command.name in COMMANDS:
            # /new is queued as a turn: submit() dedupes it; the others claim the update
            if not edited and (command.name == "new" or await self._claim(update_id)):
                inbound = self._inbound(update_id, message, user, message.text or "")
                reply = await run_command(command, inbound, self.ctx.runtime, me)
                if reply:
                    self.reply(message, reply)
            return
        if group and command is None and (me is None or not self.policy.addressed(message, me)):
            return
        await self._submit(update_id, message, user, edited=edited)

    async def _refuse(self, user: User, message: Message) -> None:
        key = tg_keys.refused(self.bot_id, user.id)
        if await self.ctx.redis.set(key, "1", nx=True, ex=REFUSAL_TTL):
            logger.info("telegram: refused user %s (not in allowFrom)", user.id)
            self.reply(message, refusal(user))

    async def _content(self, update_id: int, message: Message) -> tuple[str, list[Attachment]]:
        """The text and files for the agent; ("", []) when there is nothing for it."""
        text = message.text or message.caption or ""
        item = incoming_file(message)
        if item is not None:
            try:
                saved = await self.files.save(message, item)
            except FileTooLarge as exc:
                await self._note(update_id, message, f"I can't take that file: {exc}.")
                return "", []
            except TelegramChannelError as exc:
                logger.warning("telegram: file in chat %s not saved: %s", message.chat.id, exc)
                await self._note(update_id, message, "I couldn't download that file; try again?")
                return "", []
            line = f"[{item.kind} saved at {saved.path}]"
            return (f"{text}\n\n{line}" if text else line), [saved]
        if message.sticker is not None:
            return f"[sticker {message.sticker.emoji or ''}]".replace(" ]", "]"), []
        if not text and message.content_type in UNSUPPORTED:
            await self._note(update_id, message, UNSUPPORTED_NOTE)
        return text, []

    async def _note(self, update_id: int, message: Message, text: str) -> None:
        if await self._claim(update_id):
            self.reply(message, text)

    async def _submit(self, update_id: int, message: Message, user: User, *, edited: bool) -> None:
        text, attachments = await self._content(update_id, message)
        if not text.strip():
            return
        if edited:
            text = f"(edited) {text}"
        if is_group(message):
            text = f"{user.full_name.strip() or display_name(user)}: {text}"
        inbound = self._inbound(update_id, message, user, text, tuple(attachments))
        submitted = await self.ctx.runtime.submit(inbound)
        if not submitted.duplicate:
            self.ctx.metrics.turns_submitted.inc()

    def _inbound(
        self,
        update_id: int,
        message: Message,
        user: User,
        text: str,
        attachments: tuple[Attachment, ...] = (),
    ) -> Inbound:
        reply_to = reply_to_of(message)
        if is_group(message):
            reply_to["user_name"] = display_name(user)
        return Inbound(
            channel=CHANNEL,
            session_key=session_key_of(message),
            user_id=str(user.id),
            user_name=display_name(user),
            text=text,
            attachments=attachments,
            event_id=self._event_id(update_id),
            reply_to=reply_to,
            approvers=self.policy.approvers,
            bot=self.settings.bot,
        )

    def reply(self, message: Message, text: str) -> None:
        """Answer ``message`` in the background (a flood wait must not hold the intake)."""
        target = ChatTarget(
            message.chat.id,
            message.message_thread_id if message.is_topic_message else None,
            message.message_id if is_group(message) else None,
        )
        self.background.spawn(self._send(target, text), f"telegram-reply-{target.chat_id}")

    async def _send(self, target: ChatTarget, text: str) -> None:
        try:
            await self.sender.send(target, Formatted(text))
        except TelegramChannelError as exc:
            logger.warning("telegram: reply in %s failed: %s", target, exc)

    async def close(self) -> None:
        """Let lanes and pending replies finish (briefly), then cancel what is left."""
        await self.lanes.close()
        await self.background.close()
