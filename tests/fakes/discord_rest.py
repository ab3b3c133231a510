"""The fake Discord's channel and message routes (``/api/v10``, ``Authorization: Bot …``).

Each handler takes the recorded :class:`~tests.fakes.discord_state.Call` (path
parameters, query, JSON body, uploaded files) and returns the JSON to answer
with 200 (``None``: 204 No Content), or raises
:class:`~tests.fakes.discord_validation.ApiError`. Messages the bot creates,
edits or deletes come back over the gateway as MESSAGE_CREATE/UPDATE/DELETE,
as with Discord.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.discord_application import ApplicationApi
from tests.fakes.discord_gateway import Intents
from tests.fakes.discord_messages import (
    apply_edit,
    event_payload,
    new_message,
    require,
    require_message,
)
from tests.fakes.discord_objects import Channel, ChannelType, User, dm_channel, snowflake
from tests.fakes.discord_state import Call, Typing
from tests.fakes.discord_validation import ApiError, FormErrors, check_message

__all__ = ["NONCE_WINDOW", "RestApi", "message_intent"]

NONCE_WINDOW = 300.0
"""Seconds a nonce is remembered with ``enforce_nonce`` ("the past few minutes")."""


def message_intent(channel: Channel) -> int:
    return Intents.DIRECT_MESSAGES if channel.is_dm else Intents.GUILD_MESSAGES


class RestApi(ApplicationApi):
    """The bot's channel and message routes; the state they share is set up by the server."""

    # --- channels ----------------------------------------------------------

    def _last_id(self, channel_id: int) -> int | None:
        stored = self._state.messages.get(channel_id) or {}
        return max(stored) if stored else None

    async def _get_channel(self, call: Call) -> Any:
        with self._lock:
            channel = require(self._state, int(call.params["channel_id"]))
            return channel.wire(last_message_id=self._last_id(channel.id))

    async def _open_dm(self, call: Call) -> Any:
        body = call.body or {}
        try:
            person_id = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            errors = FormErrors()
            errors.add(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")
            errors.raise_if_any()
            raise AssertionError("unreachable") from None
        with self._lock:
            person = self._state.users.get(person_id)
            if person is None:
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "recipient_id": {
                            "_errors": [{"code": "BASE_TYPE_INVALID", "message": "Unknown user"}]
                        }
                    },
                )
            channel = self.dm_with(person)
            return channel.wire(last_message_id=self._last_id(channel.id))

    def dm_with(self, person: User) -> Channel:
        """The bot's DM channel with ``person`` (opened now if need be); call under the lock."""
        found = self._state.dms.get(person.id)
        if found is not None:
            return self._state.channels[found]
        channel = dm_channel(person)
        self._state.channels[channel.id] = channel
        self._state.dms[person.id] = channel.id
        self._state.messages[channel.id] = {}
        return channel

    async def _typing(self, call: Call) -> Any:
        with self._lock:
            channel = require(self._state, int(call.params["channel_id"]))
            self._check_send(channel)
            self._state.typing.append(Typing(channel.id, time.perf_counter()))
        return None

    def _check_send(self, channel: Channel) -> None:
        denied = self._state.denied.get(channel.id)
        if denied == 50013:
            raise ApiError(403, 50013, "Missing Permissions")
        if denied == 50007:
            raise ApiError(403, 50007, "Cannot send messages to this user")

    # --- messages ----------------------------------------------------------

    async def _list_messages(self, call: Call) -> Any:
        limit = int(call.query.get("limit", 50))
        with self._lock:
            channel = require(self._state, int(call.params["channel_id"]))
            found = sorted(
                self._state.messages.get(channel.id, {}).values(),
                key=lambda m: int(m["id"]),
                reverse=True,
            )
            found = [m for m in found if int(m["id"]) not in self._state.ephemeral]
            before = call.query.get("before")
            if before:
                found = [m for m in found if int(m["id"]) < int(before)]
            after = call.query.get("after")
            if after:
                found = [m for m in found if int(m["id"]) > int(after)]
            return found[:limit]

    async def _get_message(self, call: Call) -> Any:
        with self._lock:
            return require_message(
                self._state, int(call.params["channel_id"]), int(call.params["message_id"])
            )

    def _remembered(self, channel: Channel, body: dict[str, Any]) -> dict[str, Any] | None:
        """The message an earlier create with the same enforced nonce made, if recent."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        found = self._state.nonces.get((channel.id, self.bot.id, str(nonce)))
        if found is None or time.monotonic() - found[1] > NONCE_WINDOW:
            return None
        return self._state.messages.get(channel.id, {}).get(found[0])

    async def _create_message(self, call: Call) -> Any:
        body = dict(call.body or {})
        with self._lock:
            channel = require(self._state, int(call.params["channel_id"]))
            self._check_send(channel)
            check_message(body, attachments=len(call.files))
            again = self._remembered(channel, body)
            if again is not None:
                return again
            files = self.store_files(channel.id, call)
            message = new_message(self._state, channel, self.bot, body, attachments=files)
            self.keep(channel, message, body, "create")
            if body.get("nonce") is not None and body.get("enforce_nonce"):
                key = (channel.id, self.bot.id, str(body["nonce"]))
                self._state.nonces[key] = (int(message["id"]), time.monotonic())
            event = event_payload(self._state, message)
        await self.gateway.dispatch("MESSAGE_CREATE", event, message_intent(channel))
        return message

    def keep(
        self, channel: Channel, message: dict[str, Any], body: dict[str, Any], by: str
    ) -> None:
        """Store a new or edited message and its version; call under the lock."""
        self._state.messages.setdefault(channel.id, {})[int(message["id"])] = message
        if "allowed_mentions" in body:
            self._state.allowed_mentions[int(message["id"])] = body["allowed_mentions"]
        self._state.record(message, by)

    async def _edit_message(self, call: Call) -> Any:
        body = dict(call.body or {})
        with self._lock:
            channel_id = int(call.params["channel_id"])
            message = require_message(self._state, channel_id, int(call.params["message_id"]))
            if message["author"]["id"] != str(self.bot.id):
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            message = self.edit(message, body, call, "edit")
            event = event_payload(self._state, message)
            channel = self._state.channels[channel_id]
        await self.gateway.dispatch("MESSAGE_UPDATE", event, message_intent(channel))
        return message

    def edit(
        self, message: dict[str, Any], body: dict[str, Any], call: Call, by: str
    ) -> dict[str, Any]:
        """Validate and apply an edit; call under the lock."""
        keeps = {"content", "embeds", "components", "attachments"} - body.keys()
        has_other = any(message.get(k) for k in keeps) or bool(call.files)
        check_message(body, attachments=len(call.files), edit=True, has_other=has_other)
        channel = self._state.channels[int(message["channel_id"])]
        apply_edit(self._state, message, body, new_files=self.store_files(channel.id, call))
        if not (
            message["content"].strip()
            or message["embeds"]
            or message["components"]
            or message["attachments"]
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        self.keep(channel, message, body, by)
        return message

    async def _delete_message(self, call: Call) -> Any:
        with self._lock:
            channel_id = int(call.params["channel_id"])
            message_id = int(call.params["message_id"])
            message = require_message(self._state, channel_id, message_id)
            self.forget(channel_id, message)
            channel = self._state.channels[channel_id]
            event: dict[str, Any] = {"id": str(message_id), "channel_id": str(channel_id)}
            if channel.guild_id is not None:
                event["guild_id"] = str(channel.guild_id)
        await self.gateway.dispatch("MESSAGE_DELETE", event, message_intent(channel))
        return None

    def forget(self, channel_id: int, message: dict[str, Any]) -> None:
        del self._state.messages[channel_id][int(message["id"])]
        self._state.record(message, "delete")

    # --- threads and commands ---------------------------------------------

    async def _start_thread(self, call: Call) -> Any:
        body = call.body or {}
        with self._lock:
            parent = require(self._state, int(call.params["channel_id"]))
            if "message_id" in call.params:
                require_message(self._state, parent.id, int(call.params["message_id"]))
            name = str(body.get("name") or "")
            if not 1 <= len(name) <= 100:
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "name": {
                            "_errors": [
                                {
                                    "code": "BASE_TYPE_BAD_LENGTH",
                                    "message": "Must be between 1 and 100 in length.",
                                }
                            ]
                        }
                    },
                )
            kind = int(body.get("type") or ChannelType.PUBLIC_THREAD)
            made = Channel(
                snowflake(), kind, name, parent.guild_id, parent.id, owner_id=self.bot.id
            )
            if "message_id" in call.params:  # a thread from a message takes the message's id
                made = Channel(
                    int(call.params["message_id"]),
                    ChannelType.PUBLIC_THREAD,
                    name,
                    parent.guild_id,
                    parent.id,
                    owner_id=self.bot.id,
                )
            self._state.channels[made.id] = made
            self._state.messages[made.id] = {}
            data = made.wire()
        await self.gateway.dispatch(
            "THREAD_CREATE", {**data, "newly_created": True}, Intents.GUILDS
        )
        return data

    # --- files -------------------------------------------------------------

    def store_files(self, channel_id: int, call: Call) -> list[dict[str, Any]]:
        """Attachment objects for the call's uploads, served by the fake's CDN."""
        made = []
        for index, name in enumerate(call.files):
            content_type, content = call.uploads[index]
            made.append(self.attach(channel_id, name, content, content_type))
        return made

    def attach(
        self,
        channel_id: int,
        filename: str,
        content: bytes,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """Keep a file on the CDN; its attachment object. Call under the lock."""
        attachment_id = snowflake()
        path = f"attachments/{channel_id}/{attachment_id}/{filename}"
        self._state.files[path] = (content_type, content)
        expires = int(time.time()) + 86_400
        url = f"{self.url}/{path}?ex={expires:x}&is={int(time.time()):x}&hm={'0' * 64}&"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
