"""Messages in, on any platform: access, commands, files, then a turn (an :class:`Inbound`).

The platform translates its update into an :class:`Incoming` — who wrote,
where, the text, whether it is a command, whether it is addressed to the bot
in a group, the file it carries — and hands it to :meth:`Intake.message`.
From there it is the same everywhere:

- Deny by default: a person not in ``allowFrom`` gets one short refusal
  naming their id in a private chat (once per :data:`REFUSAL_TTL`), and is
  ignored in groups. Bots (the bot itself included) are ignored.
- Commands (:mod:`.commands`): ``/new`` queued as a reset turn, ``/stop``,
  ``/schedules``, ``/unschedule``, ``/help``; in groups a message that is
  neither a command nor addressed to the bot is not for it (unless the group
  policy is ``open``).
- What the agent receives: the text as written; in groups prefixed with the
  sender's name; an edit marked ``(edited)``; a file saved in the
  conversation's folder (:mod:`.files`) and named in the text by its path
  there, ``uploads/…`` (and in ``Inbound.attachments``); a kind facio
  cannot read gets a short note instead.
- Every platform event is handled once (docs/design.md rule 2): a message that
  becomes a turn is deduplicated by the runtime's submit itself, atomically
  with the enqueue (the platform's event id); everything else — commands,
  refusals, notes — first claims the same key.

Order and speed: messages are handled inline, in arrival order, except one
with a file (a download of up to minutes), which runs in its chat's lane
(:class:`channels.lanes.Lanes`) with the chat's later messages queued behind
it — other chats go on meanwhile. Replies are sent in the background, so a
rate limit in one chat never holds the intake.

A message handed to a lane counts as handled (the platform confirms it), so
a copy of the platform's raw update is kept in Redis
(``facio:<platform>:lane:<scope>``) until its job is done: one that a stop
(or a crash) cut short is delivered again on the next start
(:meth:`Intake.replay`), and the dedupe keys make a replay of what did get
through harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import RedisError

from channels.chat.access import AccessPolicy
from channels.chat.commands import COMMANDS, Command, run_command
from channels.chat.errors import ChatError, FileNotSaved, FileTooLarge
from channels.chat.files import conversation_path, upload_name
from channels.chat.log import platform_log
from channels.chat.platform import ChatPlatform, Person, Target
from channels.context import GatewayContext
from channels.lanes import Background, Lanes
from channels.runtime import hdel, hgetall, hset
from core.backoff import Backoff
from core.inbound import Attachment, Inbound

__all__ = [
    "LANE_KEEP",
    "MAX_QUEUED",
    "MAX_RUNNING",
    "REFUSAL_TTL",
    "UNSUPPORTED_NOTE",
    "FileSource",
    "Incoming",
    "IncomingFile",
    "Intake",
]

logger = logging.getLogger(__name__)

REFUSAL_TTL = 24 * 3600
"""A stranger is told their id once per this many seconds, not on every message."""
LANE_KEEP = 24 * 3600
"""Seconds an update cut short in a lane is kept for a replay on the next start."""
MAX_RUNNING = 8
"""Lane jobs (file downloads) running at once."""
MAX_QUEUED = 1000
"""Updates waiting in lanes, all chats together."""
UNSUPPORTED_NOTE = "I can read text, photos and files; I can't use this kind of message yet."


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file a message carries, as the platform will fetch it."""

    ref: str
    """The platform's handle: a file id, a download URL."""
    name: str
    mime_type: str = "application/octet-stream"
    size: int | None = None
    """As announced, when the platform says."""
    kind: str = "file"
    """``photo``, ``document``, ``voice``…: how the agent's note names it."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A person's message, translated by its platform (see the module docstring)."""

    event_id: str
    """The platform's id of this update: turns and claims are deduplicated by it."""
    person: Person
    session_key: str
    target: Target
    """Where facio's own replies go (refusals, notes, ``/help``)."""
    reply_to: dict[str, str]
    """Where the agent's answers go: the Inbound's ``reply_to``, read back by the platform."""
    text: str
    lane: str
    """The chat it belongs to: its messages keep their order."""
    message: str = ""
    """The platform's id of the message (a file's name starts with it)."""
    addressed: bool = True
    """In a group: a mention of the bot, a reply to it, a command."""
    command: Command | None = None
    edited: bool = False
    files: tuple[IncomingFile, ...] = ()
    """What it carries to save (Slack and Discord messages may carry several)."""
    unsupported: bool = False
    """A kind facio cannot read (a location, a poll): a note instead of a turn."""

    @property
    def group(self) -> bool:
        return self.target.group


class FileSource(Protocol):
    """Downloads a file of an incoming message into the workspace."""

    async def save(self, incoming: Incoming, file: IncomingFile, name: str) -> Attachment:
        """Save ``file`` as ``uploads/<name>`` (:func:`channels.chat.files.save_upload`);
        its path relative to the workspace. Raises :class:`FileTooLarge` above the limit,
        :class:`FileNotSaved` when it cannot be written, a :class:`ChatError` when the
        platform fails."""
        ...


@dataclass
class Texts:
    """What the intake says in the platform's words."""

    refusal: Callable[[Person], str]
    """To a stranger in a private chat: their id and where it goes."""
    help: Callable[[Person], str]
    """``/help`` and ``/start``."""


@dataclass
class Intake:
    """Handles one platform's messages (see the module docstring)."""

    ctx: GatewayContext
    platform: ChatPlatform[Any]
    policy: AccessPolicy
    texts: Texts
    bot: str
    """The bot (``bots.<name>``) that answers this channel."""
    scope: str
    """What the platform's lane copies and refusals are keyed by (the bot's id)."""
    files: FileSource | None = None
    redeliver: Callable[[str], Awaitable[None]] | None = None
    """Parses a raw update kept for a replay and handles it again (the platform's)."""
    retry_delay: float = 1.0
    lanes: Lanes[str] = field(
        default_factory=lambda: Lanes("chat", max_queued=MAX_QUEUED, max_running=MAX_RUNNING)
    )
    background: Background = field(default_factory=Background)
    _in_lanes: set[str] = field(default_factory=set)
    """Event ids handed to this gateway's lanes and not done yet."""

    def __post_init__(self) -> None:
        self.log = platform_log(logger, self.platform.name)

    @property
    def _lane_key(self) -> str:
        return self.ctx.runtime.key(self.platform.name, "lane", self.scope)

    async def claim(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen (for what is not a turn)."""
        return await self.ctx.runtime.claim_event(self.platform.name, event_id)

    async def message(self, incoming: Incoming, raw: str = "") -> None:
        """Handle a message now, or in its chat's lane when it is slow or the lane busy.

        ``raw`` is the platform's update as received, kept in Redis while in a
        lane so that a stop cannot lose it (see the module docstring).
        """
        if not incoming.files and not self.lanes.busy(incoming.lane):
            await self._message(incoming)
            return
        entry = json.dumps({"at": time.time(), "raw": raw})
        async with self.ctx.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._lane_key, incoming.event_id, entry)
            pipe.expire(self._lane_key, LANE_KEEP)
            await pipe.execute()
        self._in_lanes.add(incoming.event_id)
        await self.lanes.put(incoming.lane, lambda: self._in_lane(incoming))

    async def _in_lane(self, incoming: Incoming) -> None:
        """One lane job: Redis errors are retried (the copy stays until it is done);
        a platform error is logged and the update skipped."""
        backoff = Backoff(self.retry_delay, cap=30.0)
        while True:
            try:
                await self._message(incoming)
                break
            except RedisError as exc:
                delay = backoff.next()
                self.log.warning(
                    "Redis failed on an update of %s (%s); retrying in %.0f s",
                    incoming.lane,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            except ChatError as exc:
                self.log.warning(
                    "an update of %s failed; skipped: %s",
                    incoming.lane,
                    exc,
                )
                break
            except Exception:  # the job's boundary: logged, and the copy goes with it
                await self._lane_done(incoming.event_id)
                raise
        await self._lane_done(incoming.event_id)

    async def _lane_done(self, event_id: str) -> None:
        self._in_lanes.discard(event_id)
        await hdel(self.ctx.redis, self._lane_key, event_id)

    async def replay(self) -> None:
        """Handle the updates a stop (or crash) left in lanes, oldest first: the platform
        has them as confirmed, so it will not send them again. Each is claimed by
        deleting it, so only one gateway replays it; this gateway's own lane jobs,
        still running, are left alone."""
        if self.redeliver is None:
            return
        try:
            left = await hgetall(self.ctx.redis, self._lane_key)
        except RedisError as exc:
            self.log.warning("updates cut short by the last stop not read: %s", exc)
            return
        for event_id, value, _at in sorted(_entries(left), key=lambda item: (item[2], item[0])):
            if event_id in self._in_lanes:
                continue
            try:
                if not await hdel(self.ctx.redis, self._lane_key, event_id):
                    continue  # another gateway took it
            except RedisError as exc:
                self.log.warning("replay stopped, Redis unavailable: %s", exc)
                return  # what is left stays for the next start
            try:
                self.log.info(
                    "handling update %s, cut short by the last stop",
                    event_id,
                )
                await self.redeliver(value)
            except RedisError as exc:
                # the saved copy is the only one left (the platform has it as confirmed):
                # put it back for the next start rather than lose it
                self.log.warning("replaying update %s failed, kept: %s", event_id, exc)
                with contextlib.suppress(RedisError):
                    entry = json.dumps({"at": time.time(), "raw": value})
                    await hset(self.ctx.redis, self._lane_key, event_id, entry)
                return
            except Exception:  # the loop boundary, as in a poller: log it, go on
                self.log.exception("replaying update %s failed; skipped", event_id)

    async def _message(self, incoming: Incoming) -> None:
        person = incoming.person
        if person.is_bot:
            return
        if not self.policy.allowed(person):
            if not incoming.group and await self.claim(incoming.event_id):
                await self._refuse(incoming)
            return  # in groups strangers are ignored
        command = incoming.command
        if command is not None and not command.mine:
            return
        if command is not None and command.name in COMMANDS:
            # /new is queued as a turn: submit dedupes it; the others claim the event
            if not incoming.edited and (
                command.name == "new" or await self.claim(incoming.event_id)
            ):
                await self._command(command, incoming)
            return
        if (
            incoming.group
            and command is None
            and not (self.policy.open_groups or incoming.addressed)
        ):
            return
        await self._submit(incoming)

    async def _command(self, command: Command, incoming: Incoming) -> None:
        if command.name in ("help", "start"):
            self.reply(incoming.target, self.texts.help(incoming.person))
            return
        inbound = self._inbound(incoming, incoming.text)
        answer = await run_command(command, inbound, self.ctx.runtime, self.ctx.config)
        if answer is not None:
            self.reply(incoming.target, answer)

    async def _refuse(self, incoming: Incoming) -> None:
        key = self.ctx.runtime.key(self.platform.name, "refused", self.scope, incoming.person.id)
        if await self.ctx.redis.set(key, "1", nx=True, ex=REFUSAL_TTL):
            self.log.info("refused user %s (not in allowFrom)", incoming.person.id)
            self.reply(incoming.target, self.texts.refusal(incoming.person))

    async def _content(self, incoming: Incoming) -> tuple[str, list[Attachment]]:
        """The text and files for the agent; ("", []) when there is nothing for it.

        A message's files are saved one after another, all or none for the agent:
        when one cannot be, the person is told which and the message is not sent on
        (they send it again), rather than the agent answering about files it lacks.
        """
        text = incoming.text
        if incoming.files and self.files is not None:
            saved: list[Attachment] = []
            lines: list[str] = []
            several = len(incoming.files) > 1
            for index, item in enumerate(incoming.files):
                named = f" {item.name}" if several else ""
                # each file of a message a name of its own: the message id, its place
                message = f"{incoming.message}-{index + 1}" if index else incoming.message
                name = upload_name(message, item.name, item.kind)
                try:
                    attachment = await self.files.save(incoming, item, name)
                except FileTooLarge as exc:
                    await self._note(incoming, f"I can't take that file{named}: {exc}.")
                    return "", []
                except FileNotSaved as exc:
                    self.log.warning("file in %s not saved: %s", incoming.target, exc)
                    await self._note(incoming, f"I couldn't save that file{named}.")
                    return "", []
                except ChatError as exc:
                    self.log.warning("file in %s not saved: %s", incoming.target, exc)
                    await self._note(incoming, f"I couldn't download that file{named}; try again?")
                    return "", []
                saved.append(attachment)
                where = conversation_path(incoming.session_key, attachment.path)
                lines.append(f"[{item.kind} saved at {where}]")
            block = "\n".join(lines)
            return (f"{text}\n\n{block}" if text else block), saved
        if not text and incoming.unsupported:
            await self._note(incoming, UNSUPPORTED_NOTE)
        return text, []

    async def _note(self, incoming: Incoming, text: str) -> None:
        if await self.claim(incoming.event_id):
            self.reply(incoming.target, text)

    async def _submit(self, incoming: Incoming) -> None:
        text, attachments = await self._content(incoming)
        if not text.strip():
            return
        if incoming.edited:
            text = f"(edited) {text}"
        if incoming.group:
            person = incoming.person
            text = f"{person.name.strip() or person.shown}: {text}"
        inbound = self._inbound(incoming, text, attachments)
        submitted = await self.ctx.runtime.submit(inbound)
        if not submitted.duplicate:
            self.ctx.metrics.turns_submitted.inc()

    def _inbound(
        self, incoming: Incoming, text: str, attachments: Sequence[Attachment] = ()
    ) -> Inbound:
        reply_to = dict(incoming.reply_to)
        if incoming.group:
            reply_to["user_name"] = incoming.person.shown
        return Inbound(
            channel=self.platform.name,
            session_key=incoming.session_key,
            user_id=incoming.person.id,
            user_name=incoming.person.shown,
            text=text,
            attachments=tuple(attachments),
            event_id=incoming.event_id,
            reply_to=reply_to,
            approvers=self.policy.approvers,
            bot=self.bot,
        )

    def reply(self, target: Target, text: str) -> None:
        """Send facio's own words in the background (a rate limit must not hold the intake)."""
        self.background.spawn(self._send(target, text), f"{self.platform.name}-reply")

    async def _send(self, target: Target, text: str) -> None:
        try:
            for part in self.platform.plain(text):
                await self.platform.send(target, part)
        except ChatError as exc:
            self.log.warning("reply in %s failed: %s", target, exc)

    async def close(self) -> None:
        """Let lanes and pending replies finish (briefly), then cancel what is left."""
        await self.lanes.close()
        await self.background.close()


def _entries(raw: dict[Any, Any]) -> list[tuple[str, str, float]]:
    """``(event id, raw update, when kept)`` of a lane hash. Entries kept by an older
    facio hold the raw update itself, keyed by a numeric update id (its order)."""
    found: list[tuple[str, str, float]] = []
    for key, value in raw.items():
        event_id = key.decode() if isinstance(key, bytes) else str(key)
        text = value.decode() if isinstance(value, bytes) else str(value)
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            entry = None
        if isinstance(entry, dict) and set(entry) == {"at", "raw"}:
            found.append((event_id, str(entry["raw"]), float(entry["at"])))
        else:
            order = float(event_id) if event_id.isdigit() else 0.0
            found.append((event_id, text, order))
    return found
