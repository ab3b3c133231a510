"""What people do in the fake Slack, turned into the events Slack would send the app.

:meth:`People.say` posts a message as a person: it is stored like any
message and delivered as a ``message`` event if the app subscribes to
``message.<kind>`` events of a conversation it is in; a mention of the bot
(``<@U0FACIOBOT>``) outside a DM is also delivered as ``app_mention`` —
two callbacks with distinct ``event_id``\\s and the same ``ts`` and
``client_msg_id``, as Slack does. :meth:`People.click` clicks a button
that is on a message (by its ``action_id``, optionally its ``value``; an
older version of the card with ``version=``) and delivers the
``block_actions`` payload with a ``response_url`` into this fake.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_delivery import Delivery, Kind
from tests.fakes.slack_payloads import (
    app_mention_event,
    block_actions,
    event_callback,
    file_share_event,
    message_changed_event,
    message_event,
    rich_text,
    slash_command,
)
from tests.fakes.slack_workspace import (
    BOT_USER_ID,
    Channel,
    File,
    Message,
    ResponseUrl,
    State,
    Timestamps,
    User,
)

__all__ = ["DEFAULT_SUBSCRIPTIONS", "People", "Said"]

DEFAULT_SUBSCRIPTIONS = frozenset(
    {"app_mention", "message.channels", "message.groups", "message.im", "message.mpim"}
)
"""The bot events the fake app subscribes to unless a test says otherwise."""


@dataclass(frozen=True)
class Said:
    """A person's message: its ``ts`` and the deliveries it caused (none, one or two)."""

    ts: str
    deliveries: tuple[Delivery, ...]


def _buttons(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            yield str(block.get("block_id", "")), element


class People:
    """People's actions; the server supplies the state and the delivery."""

    url: str
    subscriptions: frozenset[str]
    echo_bot_messages: bool
    timestamps: Timestamps
    _lock: threading.Lock
    _state: State

    if TYPE_CHECKING:  # supplied by the server's other parts

        def _dispatch(self, kind: Kind, payload: dict[str, Any]) -> Delivery: ...
        def _store(self, message: Message) -> None: ...
        def _thread_of(self, channel: Channel, thread_ts: Any) -> str | None: ...

    def _subscribed(self, channel: Channel, event_type: str) -> bool:
        """Whether Slack would send the app this event from ``channel``."""
        if event_type == "app_mention":
            return "app_mention" in self.subscriptions and BOT_USER_ID in channel.members
        name = {"im": "message.im", "channel": "message.channels", "group": "message.groups"}
        subscribed = name.get(channel.kind, "message.mpim") in self.subscriptions
        return subscribed and BOT_USER_ID in channel.members

    def _bot_event(self, channel: Channel, event: dict[str, Any]) -> None:
        if self.echo_bot_messages and self._subscribed(channel, "message"):
            self._dispatch("events_api", event_callback(event))

    def push_event(self, event: dict[str, Any], *, event_id: str | None = None) -> Delivery:
        """Deliver ``event`` in an ``event_callback`` (a fresh ``event_id`` unless given)."""
        return self._dispatch("events_api", event_callback(event, event_id=event_id))

    def push_callback(self, callback: dict[str, Any]) -> Delivery:
        """Deliver a whole Events API callback as it is (e.g. one already delivered)."""
        return self._dispatch("events_api", callback)

    def push_interactive(self, payload: dict[str, Any]) -> Delivery:
        return self._dispatch("interactive", payload)

    def say(
        self,
        user: User,
        channel: Channel,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[File] | None = None,
    ) -> Said:
        """``user`` posts ``text`` in ``channel`` (in the thread of ``thread_ts``)."""
        with self._lock:
            if user.id not in channel.members:
                raise ValueError(f"{user.name} is not in {channel.name}: they cannot post there")
            thread = self._thread_of(channel, thread_ts)
            parent = self._state.messages.get(channel.id, {}).get(thread or "")
            message = Message(
                channel.id,
                self.timestamps.next(),
                user.id,
                text,
                rich_text(text),
                thread_ts=thread,
                client_msg_id=str(uuid.uuid4()),
            )
            if files:
                message.subtype = "file_share"
                message.files = [f.wire(self.url) for f in files]
            message.record("person")
            self._store(message)
        common: dict[str, Any] = {
            "ts": message.ts,
            "thread_ts": thread,
            "parent_user_id": parent.user if parent is not None else None,
        }
        if files:
            event = file_share_event(user, channel, text, message.files, **common)
        else:
            event = message_event(
                user, channel, text, client_msg_id=message.client_msg_id, **common
            )
        deliveries = []
        if self._subscribed(channel, "message"):
            deliveries.append(self.push_event(event))
        mentioned = f"<@{BOT_USER_ID}>" in text and channel.kind != "im"
        if mentioned and self._subscribed(channel, "app_mention"):
            mention = app_mention_event(
                user, channel, text, client_msg_id=message.client_msg_id, **common
            )
            deliveries.append(self.push_event(mention))
        return Said(message.ts, tuple(deliveries))

    def edit(self, user: User, channel: Channel, ts: str, text: str) -> Delivery | None:
        """``user`` edits their message: a ``message_changed`` event."""
        with self._lock:
            message = self._state.messages[channel.id][ts]
            if message.user != user.id:
                raise ValueError("people edit only their own messages")
            previous = message.wire()
            message.text, message.blocks = text, rich_text(text)
            message.edited = {"user": user.id, "ts": self.timestamps.next()}
            message.record("person")
            event = message_changed_event(
                channel, message.wire(), previous, ts=self.timestamps.next()
            )
        if not self._subscribed(channel, "message"):
            return None
        return self.push_event(event)

    def click(
        self,
        user: User,
        channel: Channel,
        ts: str,
        action_id: str,
        *,
        value: str | None = None,
        version: int | None = None,
    ) -> Delivery:
        """``user`` clicks the button ``action_id`` (``value``) of the message ``ts``.

        ``version`` clicks an earlier state of the message (an index into its
        versions), as a client that has not redrawn the card yet would.
        """
        with self._lock:
            if user.id not in channel.members:
                raise ValueError(f"{user.name} is not in {channel.name}: they cannot see the card")
            message = self._state.messages[channel.id][ts]
            if message.deleted:
                raise LookupError("that message is deleted: nobody can click it")
            wire = message.wire()
            if version is not None:
                shown = message.versions[version]
                wire.update({"text": shown.text, "blocks": [dict(b) for b in shown.blocks]})
            block_id, element = self._button(wire.get("blocks", []), action_id, value)
            hook = ResponseUrl(secrets.token_hex(12), channel.id, ts, user.id, message.thread_ts)
            self._state.response_urls[hook.id] = hook
        payload = block_actions(
            user, channel, wire, element, block_id, response_url=f"{self.url}/response/{hook.id}"
        )
        return self.push_interactive(payload)

    @staticmethod
    def _button(
        blocks: list[dict[str, Any]], action_id: str, value: str | None
    ) -> tuple[str, dict[str, Any]]:
        for block_id, element in _buttons(blocks):
            if element.get("action_id") == action_id and value in (None, element.get("value")):
                return block_id, element
        raise LookupError(f"no button {action_id!r} ({value!r}) on that message to click")

    def command(self, user: User, channel: Channel, command: str, text: str = "") -> Delivery:
        """``user`` runs the slash command ``command`` in ``channel``."""
        with self._lock:
            hook = ResponseUrl(secrets.token_hex(12), channel.id, "", user.id, None)
            self._state.response_urls[hook.id] = hook
        payload = slash_command(
            user, channel, command, text, response_url=f"{self.url}/response/{hook.id}"
        )
        return self._dispatch("slash_commands", payload)

    def add_file(
        self,
        name: str,
        content: bytes | None = b"",
        *,
        user: User,
        size: int | None = None,
        mimetype: str = "application/octet-stream",
    ) -> File:
        """A file ``user`` uploaded (``content=None`` with ``size``: streamed zero bytes)."""
        length = size if size is not None else len(content or b"")
        found = File(f"F0{secrets.token_hex(5).upper()}", name, content, length, mimetype, user.id)
        with self._lock:
            self._state.files[found.id] = found
        return found

    def share_file(
        self, user: User, channel: Channel, found: File, text: str = "", **options: Any
    ) -> Said:
        """``user`` posts ``found`` in ``channel``: a ``file_share`` message."""
        return self.say(user, channel, text, files=[found], **options)

    def response_posts(self) -> list[dict[str, Any]]:
        """Every body posted to a ``response_url``, oldest first."""
        with self._lock:
            hooks = sorted(self._state.response_urls.values(), key=lambda h: h.created)
            return [dict(post) for hook in hooks for post in hook.posts]
