"""What people (and tests) do in the fake Discord: build its world, write, click.

Everything here is called from the test's thread (or any thread): the state
changes at once under the lock, and the gateway event is queued on the
server's loop in call order, so ``push_message`` returns the stored message
and its MESSAGE_CREATE reaches the bot right after.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakes.discord_gateway import Intents
from tests.fakes.discord_interactions import InteractionApi
from tests.fakes.discord_messages import event_payload, new_message
from tests.fakes.discord_objects import (
    Channel,
    Guild,
    Role,
    User,
    guild,
    iso,
    member_wire,
    text_channel,
    thread,
    user,
)
from tests.fakes.discord_rest import message_intent

__all__ = ["Click", "People"]


@dataclass(frozen=True)
class Click:
    """A click the fake made: read what the bot answered with ``FakeDiscord.interaction``."""

    id: int
    token: str
    custom_id: str
    user: User
    channel_id: int
    message_id: int


class People(InteractionApi):
    """World building, messages from people, clicks and gateway knobs."""

    _loop: asyncio.AbstractEventLoop | None
    errors: list[BaseException]
    joined: float
    privileged_intents: int
    token: str

    # --- the world ---------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> User:
        person = user(username, bot=bot, global_name=global_name)
        with self._lock:
            self._state.users[person.id] = person
        return person

    def add_guild(
        self, name: str = "Team", *, members: Iterable[User] = (), roles: tuple[Role, ...] = ()
    ) -> Guild:
        """A server with the bot and ``members`` in it (GUILD_CREATE to live sessions)."""
        made = guild(name, roles=roles)
        with self._lock:
            self._state.guilds[made.id] = made
            self._state.members[made.id] = [self.bot]
            for person in members:
                self._state.users.setdefault(person.id, person)
                self._state.members[made.id].append(person)
            payload = self._guild_create(made)
        self._queue(self.gateway.dispatch("GUILD_CREATE", payload, Intents.GUILDS))
        return made

    def add_channel(self, of: Guild, name: str = "general") -> Channel:
        made = text_channel(of, name)
        with self._lock:
            self._state.channels[made.id] = made
            self._state.messages[made.id] = {}
        if self._loop is not None:
            self._queue(self.gateway.dispatch("CHANNEL_CREATE", made.wire(), Intents.GUILDS))
        return made

    def add_thread(
        self,
        parent: Channel,
        name: str = "thread",
        *,
        owner: User | None = None,
        private: bool = False,
    ) -> Channel:
        """A thread in ``parent`` (THREAD_CREATE to live sessions, ``newly_created``)."""
        made = thread(parent, name, owner=owner or self.bot, private=private)
        with self._lock:
            self._state.channels[made.id] = made
            self._state.messages[made.id] = {}
        self._queue(
            self.gateway.dispatch(
                "THREAD_CREATE", {**made.wire(), "newly_created": True}, Intents.GUILDS
            )
        )
        return made

    def dm(self, person: User) -> Channel:
        """The bot's DM channel with ``person`` (opened if need be)."""
        with self._lock:
            self._state.users.setdefault(person.id, person)
            return self.dm_with(person)

    def deny(self, channel: Channel, code: int = 50001) -> None:
        """The bot cannot use ``channel``: 50001 Missing Access (it cannot see it), 50013
        Missing Permissions (it cannot send), 50007 (a DM with someone who blocks it)."""
        with self._lock:
            self._state.denied[channel.id] = code

    def attachment(
        self, channel: Channel, filename: str, content: bytes, content_type: str = "text/plain"
    ) -> dict[str, Any]:
        """An attachment object whose ``url`` the fake's CDN serves (for ``push_message``)."""
        with self._lock:
            return self.attach(channel.id, filename, content, content_type)

    # --- what people do ----------------------------------------------------

    def push_message(
        self,
        channel: Channel,
        author: User,
        content: str = "",
        *,
        reply_to: dict[str, Any] | None = None,
        ping_reply: bool = True,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """``author`` writes in ``channel``; mentions (``<@id>``, ``<@&id>``, ``@everyone``)
        are parsed from ``content``; ``reply_to`` makes it a reply (``ping_reply``: the
        replied-to author is mentioned, Discord's default)."""
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": reply_to["id"]}
            body["allowed_mentions"] = {
                "parse": ["users", "roles", "everyone"],
                "replied_user": ping_reply,
            }
        with self._lock:
            self._state.users.setdefault(author.id, author)
            message = new_message(self._state, channel, author, body, attachments=list(attachments))
            self._state.messages.setdefault(channel.id, {})[int(message["id"])] = message
            self._state.record(message, "push")
            payload = event_payload(self._state, message)
        self._queue(self.gateway.dispatch("MESSAGE_CREATE", payload, message_intent(channel)))
        return copy.deepcopy(message)

    def edit_message(self, message: dict[str, Any], content: str) -> dict[str, Any]:
        """Its author edits a message (MESSAGE_UPDATE)."""
        with self._lock:
            stored = self._state.messages[int(message["channel_id"])][int(message["id"])]
            stored["content"] = content
            stored["edited_timestamp"] = iso()
            self._state.record(stored, "edit")
            payload = event_payload(self._state, stored)
            channel = self._state.channels[int(message["channel_id"])]
        self._queue(self.gateway.dispatch("MESSAGE_UPDATE", payload, message_intent(channel)))
        return copy.deepcopy(stored)

    def delete_message(self, message: dict[str, Any]) -> None:
        with self._lock:
            channel = self._state.channels[int(message["channel_id"])]
            stored = self._state.messages[channel.id][int(message["id"])]
            self.forget(channel.id, stored)
        event = {"id": message["id"], "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            event["guild_id"] = str(channel.guild_id)
        self._queue(self.gateway.dispatch("MESSAGE_DELETE", event, message_intent(channel)))

    def click(
        self, message: dict[str, Any], custom_id: str, person: User, *, force: bool = False
    ) -> Click:
        """``person`` clicks the component ``custom_id`` of ``message`` (INTERACTION_CREATE);
        only what the message shows now and is enabled can be clicked, unless ``force``."""
        with self._lock:
            self._state.users.setdefault(person.id, person)
            record = self.new_click(message, custom_id, person, force=force)
            payload = copy.deepcopy(record.payload)
        self._queue(self.gateway.dispatch("INTERACTION_CREATE", payload))
        return Click(
            record.id, record.token, custom_id, person, record.channel_id, int(message["id"])
        )

    def command(self, channel_id: int, name: str, person: User, **options: str) -> Click:
        """``person`` runs the slash command ``name`` in ``channel_id`` (INTERACTION_CREATE
        of type 2; a registered command only). Read as a click: no message, no id."""
        with self._lock:
            self._state.users.setdefault(person.id, person)
            record = self.new_command(channel_id, name, person, options)
            payload = copy.deepcopy(record.payload)
        self._queue(self.gateway.dispatch("INTERACTION_CREATE", payload))
        return Click(record.id, record.token, f"/{name}", person, channel_id, 0)

    # --- the gateway's knobs -----------------------------------------------

    @property
    def acks(self) -> bool:
        """Whether heartbeats are acknowledged (off: the connection looks dead to the client)."""
        return self.gateway.acks

    @acks.setter
    def acks(self, value: bool) -> None:
        self.gateway.acks = value

    def drop_gateway(self) -> None:
        """Cut the live gateway connections without a close frame; sessions stay resumable."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.gateway.drop)

    def reconnect(self) -> None:
        """Op 7 RECONNECT: the client should reconnect and resume."""
        self._queue(self.gateway.send_op(7))

    def invalidate_session(self, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION (``False``: the session is over; the client identifies anew)."""
        self._queue(self.gateway.send_op(9, resumable))

    def request_heartbeat(self) -> None:
        self._queue(self.gateway.send_op(1))

    def push_event(self, event: str, data: Any) -> None:
        """Dispatch any event as it is, e.g. a malformed one (``data`` need not be a dict)."""
        self._queue(self.gateway.dispatch(event, data))

    def push_frame(self, text: str) -> None:
        """Send ``text`` as one gateway payload, as it is (not JSON, not an object…)."""
        self._queue(self.gateway.send_raw(text))

    def close_gateway(self, code: int = 4000) -> None:
        """Close the live connections with ``code`` (4000: resumable; 4004, 4014: fatal)."""
        self._queue(self.gateway.close(code))

    # --- what the gateway asks ----------------------------------------------

    def bot_id(self) -> int:
        return self.bot.id

    def ready_payload(self, session_id: str, shard: list[int] | None) -> dict[str, Any]:
        with self._lock:
            guilds = [{"id": str(g), "unavailable": True} for g in self._state.guilds]
        data: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot.wire(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": self.resume_gateway_url,
            "session_type": "normal",
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ['["gateway-prd-fake",{"micros":1000}]'],
        }
        if shard is not None:
            data["shard"] = shard
        return data

    def guild_create_payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._guild_create(g) for g in self._state.guilds.values()]

    def _guild_create(self, of: Guild) -> dict[str, Any]:
        members = self._state.members.get(of.id, [])
        channels = [c for c in self._state.channels.values() if c.guild_id == of.id]
        return {
            "id": str(of.id),
            "name": of.name,
            "icon": None,
            "splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(of.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "application_id": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [of.everyone.wire(0), *(r.wire(i + 1) for i, r in enumerate(of.roles))],
            "joined_at": iso(self.joined),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(members),
            "members": [member_wire(m, joined=self.joined) for m in members],
            "channels": [c.wire(in_guild_create=True) for c in channels if not c.is_thread],
            "threads": [c.wire() for c in channels if c.is_thread],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    # --- plumbing ----------------------------------------------------------

    def _queue(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the server's loop, after everything queued before it."""
        if self._loop is None:  # not started: nobody is connected to tell
            coro.close()
            return
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.add_done_callback(self._note_error)

    def _note_error(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.errors.append(future.exception())
