"""Slack events in the chat layer's words: a message becomes an :class:`Incoming`.

Sessions (docs/slack.md): a DM is ``slack:<team>:<channel>``; a message
inside a thread (DM or channel) is ``slack:<team>:<channel>:<thread_ts>``; a
top-level message in a channel opens a thread keyed by its own ``ts``, and
the answer goes into that thread. In channels (and group DMs) the bot is
addressed by a mention of it, or by any message in a thread it is part of
(one a mention opened, or under one of its own messages): later messages
there need no mention. The adapter knows the threads; this module is pure.

Every message is identified by ``<team>:<channel>:<ts>``: that is the
:attr:`Incoming.event_id` the runtime dedupes by, so a redelivery (same
``event_id``) and one message seen twice (``message`` and ``app_mention``,
two ``event_id``\\s) are one turn. An edit (``message_changed`` whose text
changed: unfurls change attachments, not text) is ``… :edited:<edit ts>``.

Text: the leading mention of the bot is dropped, Slack's escapes (``&amp;``,
``&lt;``, ``&gt;``) are undone; ``/new``, ``/stop``, ``/help`` are read from
the text (Slack runs no slash commands in threads). Payloads are read
through small pydantic models: a malformed one is a :class:`ValueError`
(logged and acknowledged by the caller: a retry would not fix it).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from channels.chat.commands import parse_text_command
from channels.chat.intake import Incoming, IncomingFile
from channels.chat.platform import Person, Target

__all__ = [
    "CHANNEL",
    "MESSAGE_SUBTYPES",
    "BlockActions",
    "Message",
    "SlackFile",
    "clean_text",
    "incoming",
    "is_dm",
    "parse_click",
    "parse_message",
    "session_key",
    "thread_of",
]

CHANNEL = "slack"
MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
"""Subtypes that are a person's message; ``message_changed`` is an edit, the rest is ignored."""
_MENTION = r"<@{}(?:\|[^>]*)?>"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SlackFile(_Model):
    """A file of a ``file_share`` message, as the event carries it."""

    id: str
    name: str = ""
    mimetype: str = "application/octet-stream"
    size: int | None = None
    url_private_download: str = ""
    url_private: str = ""


class Edited(_Model):
    user: str = ""
    ts: str = ""


class Message(_Model):
    """A ``message`` or ``app_mention`` event (or the message inside ``message_changed``)."""

    type: Literal["message", "app_mention"] = "message"
    subtype: str | None = None
    user: str | None = None
    bot_id: str | None = None
    text: str = ""
    ts: str
    thread_ts: str | None = None
    parent_user_id: str | None = None
    channel: str = ""
    channel_type: str | None = None
    team: str | None = None
    files: list[SlackFile] = []
    edited: Edited | None = None
    message: Message | None = None
    previous_message: Message | None = None


def parse_message(event: dict[str, Any]) -> Message:
    """``event`` read as a :class:`Message`; ``ValueError`` when it is not one."""
    try:
        return Message.model_validate(event)
    except ValidationError as exc:
        raise ValueError(
            f"malformed {event.get('type')!r} event: {exc.error_count()} problem(s)"
        ) from exc


def is_dm(channel: str, channel_type: str | None) -> bool:
    """A one-to-one DM (``im``): no mention needed, strangers are told their id."""
    return channel_type == "im" if channel_type else channel.startswith("D")


def thread_of(message: Message) -> str:
    """The thread a message is in ("" at the top level)."""
    return message.thread_ts if message.thread_ts and message.thread_ts != message.ts else ""


def session_key(team: str, message: Message, dm: bool) -> str:
    """``slack:<team>:<channel>`` (a DM) or ``slack:<team>:<channel>:<thread>``."""
    thread = thread_of(message) or ("" if dm else message.ts)
    base = f"{CHANNEL}:{team}:{message.channel}"
    return f"{base}:{thread}" if thread else base


def mentions(text: str, user_id: str) -> bool:
    return bool(user_id) and re.search(_MENTION.format(re.escape(user_id)), text) is not None


def clean_text(text: str, bot_user_id: str) -> str:
    """The text for the agent: a leading mention of the bot dropped, Slack's escapes undone."""
    if bot_user_id:
        text = re.sub("^\\s*" + _MENTION.format(re.escape(bot_user_id)) + "[\\s,:]*", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def incoming_files(message: Message) -> tuple[IncomingFile, ...]:
    """The files of a ``file_share`` message, in order."""
    return tuple(_incoming_file(item) for item in message.files or ())


def _incoming_file(item: SlackFile) -> IncomingFile:
    ref = item.url_private_download or item.url_private or f"id:{item.id}"
    name = item.name or f"{item.id}.bin"
    kind = "photo" if item.mimetype.startswith("image/") else "file"
    return IncomingFile(ref, name, item.mimetype or "application/octet-stream", item.size, kind)


def incoming(
    message: Message,
    person: Person,
    *,
    team: str,
    bot_user_id: str,
    in_bot_thread: bool,
    edited_ts: str = "",
) -> Incoming:
    """``message`` from ``person`` as the chat layer's :class:`Incoming`.

    ``in_bot_thread``: the message is in a thread the bot is part of (the
    adapter keeps track), so it needs no mention.
    """
    dm = is_dm(message.channel, message.channel_type)
    thread = thread_of(message)
    replies_in = thread or ("" if dm else message.ts)
    text = clean_text(message.text, bot_user_id)
    key = session_key(team, message, dm)
    event_id = f"{team}:{message.channel}:{message.ts}"
    if edited_ts:
        event_id += f":edited:{edited_ts}"
    reply_to = {
        "team": team,
        "channel": message.channel,
        "thread_ts": replies_in,
        "ts": message.ts,
        "channel_type": "im" if dm else (message.channel_type or "channel"),
    }
    addressed = (
        dm
        or in_bot_thread
        or mentions(message.text, bot_user_id)
        or (bool(thread) and message.parent_user_id == bot_user_id)
    )
    return Incoming(
        event_id=event_id,
        person=person,
        session_key=key,
        target=Target(message.channel, replies_in, message.ts, not dm),
        reply_to=reply_to,
        text=text,
        lane=key,
        message=message.ts,
        addressed=addressed,
        command=parse_text_command(text),
        edited=bool(edited_ts),
        files=incoming_files(message),
    )


class ClickUser(_Model):
    id: str
    username: str = ""
    name: str = ""


class Action(_Model):
    action_id: str
    value: str = ""


class Container(_Model):
    channel_id: str = ""
    message_ts: str = ""


class BlockActions(_Model):
    """A ``block_actions`` payload: a click on a button of a message."""

    user: ClickUser
    actions: list[Action]
    container: Container = Container()
    response_url: str = ""
    trigger_id: str = ""
    message: dict[str, Any] | None = None


def parse_click(body: dict[str, Any]) -> BlockActions:
    """``body`` read as a click; ``ValueError`` when it is not one (or has no action)."""
    try:
        click = BlockActions.model_validate(body)
    except ValidationError as exc:
        raise ValueError(
            f"malformed block_actions payload: {exc.error_count()} problem(s)"
        ) from exc
    if not click.actions:
        raise ValueError("a block_actions payload without actions")
    return click


Message.model_rebuild()
