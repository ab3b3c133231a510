"""Messages in the fake Slack: ``chat.*``, ``reactions.*`` and posts to a click's ``response_url``.

What Slack checks, with its error names: a conversation the bot cannot see
(``channel_not_found``) or is not in (``not_in_channel``); neither ``text``
nor ``blocks`` (``no_text``); ``text`` over 40,000 characters
(``msg_too_long``); ``blocks`` that are not a JSON array of objects
(``invalid_blocks_format``) or break Block Kit's rules (``invalid_blocks``
with Slack's ``errors`` list, :mod:`tests.fakes.slack_blocks`); ``metadata``
that is not an object with an ``event_type`` string and an ``event_payload``
object (``invalid_metadata_format``); updating or
deleting a message that is gone (``message_not_found``) or is not the bot's
(``cant_update_message``, ``cant_delete_message``); an ephemeral message to
someone outside the conversation (``user_not_in_channel``); a reaction twice
(``already_reacted``) or one that is not there (``no_reaction``).

``chat.update`` keeps the message's ``blocks`` (and ``metadata``) when the
call has none (an empty list removes the blocks), as Slack documents; every change is kept as a
:class:`~tests.fakes.slack_workspace.Version`. The bot's own posts, edits
and deletions come back to the app as ``message`` events (plain,
``message_changed``, ``message_deleted``) like Slack sends them.

A ``response_url`` takes 5 posts within 30 minutes; ``replace_original``
replaces the clicked message in place (same ``ts``), ``delete_original``
deletes it, otherwise the post is an ephemeral message to the clicker
(``response_type: in_channel`` posts a visible one). It answers like an
incoming webhook: ``200 ok``, or 4xx with the error's name as plain text.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_api import ApiError, flag
from tests.fakes.slack_blocks import block_errors
from tests.fakes.slack_payloads import message_changed_event, message_deleted_event
from tests.fakes.slack_workspace import (
    BOT_ID,
    BOT_USER_ID,
    Channel,
    Ephemeral,
    Message,
    State,
    Timestamps,
)

__all__ = ["MAX_TEXT", "ChatMethods", "parse_blocks", "parse_metadata"]

MAX_TEXT = 40_000
_EXTRAS = ("mrkdwn", "unfurl_links", "unfurl_media", "reply_broadcast", "parse")
_EMOJI = re.compile(r"^[a-z0-9_+'\-]+(::skin-tone-[2-6])?$")
_RESPONSE_URL_LIFETIME = 30 * 60
_RESPONSE_URL_POSTS = 5


def parse_blocks(value: Any) -> list[dict[str, Any]] | None:
    """``blocks`` as sent (a JSON string in a form, a list in JSON); ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ApiError("invalid_blocks_format") from exc
    if not isinstance(value, list):
        raise ApiError("invalid_blocks_format")
    errors = block_errors(value)
    if errors:
        raise ApiError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )
    return value


def parse_metadata(value: Any) -> dict[str, Any] | None:
    """``metadata`` as sent (a JSON string in a form, an object in JSON); ``None`` when
    absent. Slack takes an object with an ``event_type`` string and an ``event_payload``
    object; anything else is ``invalid_metadata_format``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ApiError("invalid_metadata_format") from exc
    match value:
        case {"event_type": str(kind), "event_payload": dict()} if kind:
            return dict(value)
    raise ApiError("invalid_metadata_format")


def _content(
    params: dict[str, Any], current: Message | None = None
) -> tuple[str, list[dict[str, Any]] | None]:
    """The checked ``text`` and ``blocks`` (``None``: not given) of a post or an update."""
    text = params.get("text")
    text = "" if text is None else str(text)
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    blocks = parse_blocks(params.get("blocks"))
    shown = blocks if blocks is not None else (current.blocks if current else [])
    if not text and not shown and not params.get("attachments"):
        raise ApiError("no_text")
    if blocks is not None:  # Slack names the blocks that come without a block_id
        blocks = [{**b, "block_id": b.get("block_id") or secrets.token_urlsafe(4)} for b in blocks]
    return text, blocks


def _extras(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in _EXTRAS if k in params}


class ChatMethods:
    """The message methods; the server supplies the state and the event delivery."""

    _lock: threading.Lock
    _state: State
    timestamps: Timestamps

    if TYPE_CHECKING:  # supplied by the server's other parts

        def _visible(self, channel_id: Any) -> Channel: ...
        def _writable(self, channel_id: Any) -> Channel: ...
        def _bot_event(self, channel: Channel, event: dict[str, Any]) -> None: ...

    # --- storage -----------------------------------------------------------

    def _store(self, message: Message) -> None:
        """Keep a new message (under the lock); a reply joins its parent's thread."""
        channel = self._state.messages.setdefault(message.channel, {})
        channel[message.ts] = message
        parent = channel.get(message.thread_ts or "")
        if parent is not None and parent is not message:
            parent.replies.append(message.ts)
            parent.thread_ts = parent.ts

    def _thread_of(self, channel: Channel, thread_ts: Any) -> str | None:
        """The thread a reply goes to: a reply's ``ts`` means its parent's thread."""
        if thread_ts in (None, ""):
            return None
        target = self._state.messages.get(channel.id, {}).get(str(thread_ts))
        if target is not None and target.thread_ts:
            return target.thread_ts
        return str(thread_ts)

    def _found(self, channel: Channel, ts: Any) -> Message:
        message = self._state.messages.get(channel.id, {}).get(str(ts or ""))
        if message is None or message.deleted:
            raise ApiError("message_not_found")
        return message

    def _changed(self, channel: Channel, message: Message, previous: dict[str, Any]) -> None:
        with self._lock:
            wire = message.wire()
        event = message_changed_event(channel, wire, previous, ts=self.timestamps.next())
        self._bot_event(channel, event)

    def _deleted(self, channel: Channel, previous: dict[str, Any]) -> None:
        self._bot_event(
            channel, message_deleted_event(channel, previous, ts=self.timestamps.next())
        )

    def _post(
        self,
        channel: Channel,
        text: str,
        blocks: list[dict[str, Any]],
        thread: Any,
        via: str,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        with self._lock:
            message = Message(
                channel.id,
                self.timestamps.next(),
                BOT_USER_ID,
                text,
                blocks,
                thread_ts=self._thread_of(channel, thread),
                bot_id=BOT_ID,
                metadata=metadata,
            )
            message.record(via)
            self._store(message)
            wire = message.wire()
        event = {
            **wire,
            "channel": channel.id,
            "event_ts": message.ts,
            "channel_type": channel.channel_type,
        }
        self._bot_event(channel, event)
        return message

    # --- chat.* ------------------------------------------------------------

    async def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text, blocks = _content(params)
        metadata = parse_metadata(params.get("metadata"))
        with self._lock:
            channel = self._writable(params.get("channel"))
        message = self._post(
            channel, text, blocks or [], params.get("thread_ts"), "chat.postMessage", metadata
        )
        with self._lock:
            message.params = _extras(params)
            wire = message.wire(metadata=True)
        return {"channel": channel.id, "ts": message.ts, "message": wire}

    async def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            channel = self._visible(params.get("channel"))
            message = self._found(channel, params.get("ts"))
            if message.bot_id != BOT_ID:
                raise ApiError("cant_update_message")
            text, blocks = _content(params, message)
            metadata = parse_metadata(params.get("metadata"))
            previous = message.wire()
            message.text = text
            if blocks is not None:
                message.blocks = blocks
            if metadata is not None:
                message.metadata = metadata
            message.edited = {"user": BOT_USER_ID, "ts": self.timestamps.next()}
            message.params.update(_extras(params))
            message.record("chat.update")
            wire = message.wire()
        self._changed(channel, message, previous)
        return {"channel": channel.id, "ts": message.ts, "text": text, "message": wire}

    async def _m_chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            channel = self._visible(params.get("channel"))
            message = self._found(channel, params.get("ts"))
            if message.bot_id != BOT_ID:
                raise ApiError("cant_delete_message")
            previous = message.wire()
            message.deleted = True
            message.record("chat.delete")
        self._deleted(channel, previous)
        return {"channel": channel.id, "ts": message.ts}

    async def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        text, blocks = _content(params)
        with self._lock:
            channel = self._writable(params.get("channel"))
            user = str(params.get("user") or "")
            if user not in channel.members:
                raise ApiError("user_not_in_channel")
            thread = self._thread_of(channel, params.get("thread_ts"))
            self._state.ephemerals.append(
                Ephemeral(
                    channel.id,
                    user,
                    text,
                    tuple(blocks or ()),
                    thread,
                    "chat.postEphemeral",
                    time.time(),
                )
            )
        return {"message_ts": self.timestamps.next()}

    # --- reactions.* -------------------------------------------------------

    def _reacted(self, params: dict[str, Any]) -> tuple[Message, str]:
        if not params.get("channel") or not params.get("timestamp"):
            raise ApiError("no_item_specified")
        name = str(params.get("name") or "")
        if not _EMOJI.match(name):
            raise ApiError("invalid_name")
        channel = self._visible(params["channel"])
        return self._found(channel, params["timestamp"]), name

    async def _m_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message, name = self._reacted(params)
            users = message.reactions.setdefault(name, [])
            if BOT_USER_ID in users:
                raise ApiError("already_reacted")
            users.append(BOT_USER_ID)
        return {}

    async def _m_reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message, name = self._reacted(params)
            users = message.reactions.get(name, [])
            if BOT_USER_ID not in users:
                raise ApiError("no_reaction")
            users.remove(BOT_USER_ID)
            if not users:
                del message.reactions[name]
        return {}

    # --- response_url --------------------------------------------------------

    def respond(self, response_id: str, body: dict[str, Any]) -> tuple[int, str]:
        """Apply a post to a ``response_url`` (the server's route calls it)."""
        with self._lock:
            hook = self._state.response_urls.get(response_id)
            if hook is None:
                return 404, "no_active_hooks"
            if time.monotonic() - hook.created > _RESPONSE_URL_LIFETIME:
                return 404, "expired_url"
            if len(hook.posts) >= _RESPONSE_URL_POSTS:
                return 404, "used_url"
            hook.posts.append(body)
            channel = self._state.channels[hook.channel]
            original = self._state.messages.get(channel.id, {}).get(hook.message_ts)
        try:
            if flag(body.get("delete_original")):
                return self._respond_delete(channel, original)
            text, blocks = _content(body)
        except ApiError as exc:
            return 400, exc.error
        if flag(body.get("replace_original")):
            return self._respond_replace(channel, original, text, blocks or [])
        thread = body.get("thread_ts") or hook.thread_ts
        if body.get("response_type") == "in_channel":
            self._post(channel, text, blocks or [], thread, "response_url")
            return 200, "ok"
        with self._lock:
            self._state.ephemerals.append(
                Ephemeral(
                    channel.id,
                    hook.user,
                    text,
                    tuple(blocks or ()),
                    thread,
                    "response_url",
                    time.time(),
                )
            )
        return 200, "ok"

    def _respond_delete(self, channel: Channel, original: Message | None) -> tuple[int, str]:
        with self._lock:
            if original is None or original.deleted:
                return 404, "message_not_found"
            previous = original.wire()
            original.deleted = True
            original.record("response_url")
        self._deleted(channel, previous)
        return 200, "ok"

    def _respond_replace(
        self,
        channel: Channel,
        original: Message | None,
        text: str,
        blocks: list[dict[str, Any]],
    ) -> tuple[int, str]:
        with self._lock:
            if original is None or original.deleted:
                return 404, "message_not_found"
            previous = original.wire()
            original.text, original.blocks = text, blocks
            original.edited = {"user": BOT_USER_ID, "ts": self.timestamps.next()}
            original.record("response_url")
        self._changed(channel, original, previous)
        return 200, "ok"
