"""Interactions of the fake Discord: clicks, slash commands, callbacks and follow-ups.

A click (:meth:`InteractionApi.new_click`) is an INTERACTION_CREATE of type 3
(MESSAGE_COMPONENT) with ``data.custom_id``/``component_type``, the clicked
``message``, ``member`` (in a guild) or ``user`` (in a DM), a fresh ``id`` and
``token``. Only a button or select that the message shows now, and not
disabled, can be clicked — as in Discord's client. A slash command
(:meth:`InteractionApi.new_command`) is one of type 2 (APPLICATION_COMMAND)
with ``data`` ``id``/``name``/``type``/``options``, for a registered command only.

``POST /interactions/{id}/{token}/callback`` (no bot token; the interaction
token is the credential) is answered as Discord does: an unknown interaction,
or one older than the window (3 s) → 404 code 10062 "Unknown interaction"; a
second answer → 400 code 40060 "Interaction has already been acknowledged.";
types 4 (a message; ``flags`` 64 makes it ephemeral: only the clicker sees it
and no gateway event is sent), 5 (a deferred message, shown loading), 6
(deferred update) and 7 (edit the clicked message) for components only, 1 only for
a PING, 9 (a modal) recorded. ``with_response`` gets the interaction callback
response object, otherwise 204.

``/webhooks/{application_id}/{token}`` (15 minutes): POST a follow-up (after
a type-5 answer the first one fills the loading message, as Discord keeps for
backwards compatibility; before any answer → 404 10015 "Unknown Webhook"),
GET/PATCH/DELETE ``messages/@original`` (the response message, or the
clicked message after type 6/7) and ``messages/{id}`` of follow-ups.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from tests.fakes.discord_messages import event_payload, new_message
from tests.fakes.discord_objects import Channel, User, member_wire, snowflake
from tests.fakes.discord_rest import RestApi, message_intent
from tests.fakes.discord_state import Call, Callback, Interaction
from tests.fakes.discord_validation import EPHEMERAL, LOADING, ApiError, check_message

__all__ = ["TOKEN_LIFETIME", "InteractionApi", "find_component"]

TOKEN_LIFETIME = 15 * 60.0
_CALLBACK_TYPES = {1, 4, 5, 6, 7, 8, 9, 10, 12}


def find_component(message: dict[str, Any], custom_id: str) -> dict[str, Any] | None:
    """The interactive component of ``message`` with ``custom_id`` (in action rows)."""
    stack: list[dict[str, Any]] = list(message.get("components") or [])
    while stack:
        item = stack.pop(0)
        if item.get("custom_id") == custom_id and item.get("type") != 1:
            return item
        stack.extend(item.get("components") or [])
        if isinstance(item.get("accessory"), dict):
            stack.append(item["accessory"])
    return None


class InteractionApi(RestApi):
    """Interactions (on top of the bot's routes, whose message keeping they share)."""

    interaction_window: float

    # --- a click -----------------------------------------------------------

    def new_click(
        self, message: dict[str, Any], custom_id: str, person: User, *, force: bool = False
    ) -> Interaction:
        """An interaction for ``person`` clicking ``custom_id`` on ``message`` (as stored
        now); call under the lock. ``force``: click even what is not (or no longer) shown."""
        channel = self._state.channels[int(message["channel_id"])]
        current = self._state.messages.get(channel.id, {}).get(int(message["id"]))
        if current is None and not force:
            raise AssertionError(
                f"message {message['id']} is not in channel {channel.id} (deleted?)"
            )
        shown = current or message
        component = find_component(shown, custom_id)
        if not force and (component is None or component.get("disabled")):
            raise AssertionError(f"no clickable component {custom_id!r} on message {message['id']}")
        data = {
            "custom_id": custom_id,
            "component_type": (component or {}).get("type", 2),
            "id": (component or {}).get("id", 0),
        }
        return self._new_interaction(3, data, channel, person, shown)

    # --- a slash command ---------------------------------------------------

    def new_command(
        self, channel_id: int, name: str, person: User, options: dict[str, str]
    ) -> Interaction:
        """An interaction for ``person`` running the application's command ``name`` in
        ``channel_id`` with string ``options``; call under the lock. Only a registered
        command can be run — as in Discord's client, which lists only those."""
        command = next((c for c in self._state.commands if c["name"] == name), None)
        if command is None:
            raise AssertionError(f"no registered command {name!r}")
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1}
        if options:
            data["options"] = [{"type": 3, "name": k, "value": v} for k, v in options.items()]
        return self._new_interaction(2, data, self._state.channels[channel_id], person, None)

    def _new_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        channel: Channel,
        person: User,
        message: dict[str, Any] | None,
    ) -> Interaction:
        interaction_id = snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.wire(),
            "token": token,
            "version": 1,
            "app_permissions": "2248473465835073",
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10_485_760,
        }
        if message is not None:
            payload["message"] = message
        if channel.guild_id is not None:
            payload.update(
                {
                    "guild_id": str(channel.guild_id),
                    "guild": {"id": str(channel.guild_id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "member": member_wire(person, permissions=2248473465835073),
                    "authorizing_integration_owners": {"0": str(channel.guild_id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {"user": person.wire(), "authorizing_integration_owners": {"0": "0"}, "context": 1}
            )
        record = Interaction(
            interaction_id,
            token,
            payload,
            time.perf_counter(),
            person,
            channel.id,
            int(message["id"]) if message is not None else None,
        )
        self._state.interactions[interaction_id] = record
        self._state.tokens[token] = interaction_id
        return record

    # --- the callback ------------------------------------------------------

    def _callback_target(self, call: Call) -> Interaction:
        record = self._state.interactions.get(int(call.params["interaction_id"]))
        if record is None or record.token != call.params["interaction_token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        return record

    async def _callback(self, call: Call) -> Any:
        body = call.body or {}
        with self._lock:
            record = self._callback_target(call)
            kind, data = body.get("type"), body.get("data")
            answer = Callback(
                kind if isinstance(kind, int) else None,
                data,
                time.perf_counter() - record.created,
                0,
            )
            record.callbacks.append(answer)
            try:
                result, events = self._answer(record, kind, data or {}, call)
            except ApiError as exc:
                answer.status, answer.code = exc.status, exc.code
                raise
            answer.status = 200 if call.query.get("with_response") in ("1", "true", "True") else 204
        for event, payload, intent in events:
            await self.gateway.dispatch(event, payload, intent)
        return result if answer.status == 200 else None

    def _answer(
        self, record: Interaction, kind: Any, data: dict[str, Any], call: Call
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any], int]]]:
        if time.perf_counter() - record.created > self.interaction_window:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        command = record.payload["type"] == 2  # 6 and 7 answer a component only
        if kind not in _CALLBACK_TYPES or kind in (1, 8, 10, 12) or (command and kind in (6, 7)):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": "Interaction response type is invalid",
                            }
                        ]
                    }
                },
            )
        channel = self._state.channels[record.channel_id]
        events: list[tuple[str, dict[str, Any], int]] = []
        message: dict[str, Any] | None = None
        if kind in (4, 5):
            if kind == 4:
                check_message(data)
                body = data
            else:
                body = {"flags": (int(data.get("flags") or 0) & EPHEMERAL) | LOADING}
            message = self._response_message(record, channel, body)
            record.original_id = int(message["id"])
            record.deferred_message = kind == 5
            if int(message["id"]) not in self._state.ephemeral:
                events.append(
                    ("MESSAGE_CREATE", event_payload(self._state, message), message_intent(channel))
                )
        elif kind in (6, 7):
            record.original_id = record.message_id
            if kind == 7:
                source = self._state.messages.get(channel.id, {}).get(record.message_id or 0)
                if source is None:
                    raise ApiError(404, 10008, "Unknown Message")
                message = self.edit(source, data, call, "interaction")
                events.append(
                    ("MESSAGE_UPDATE", event_payload(self._state, message), message_intent(channel))
                )
        record.response_type = kind
        return self._callback_response(record, kind, message), events

    def _response_message(
        self, record: Interaction, channel: Channel, body: dict[str, Any]
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.payload["type"],
            "user": record.user.wire(),
            "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
        }
        if record.message_id is not None:
            metadata["interacted_message_id"] = str(record.message_id)
        else:
            metadata["name"] = record.payload["data"]["name"]
        message = new_message(
            self._state,
            channel,
            self.bot,
            body,
            application_id=self.application_id,
            interaction=metadata,
        )
        if int(message["flags"]) & EPHEMERAL:
            self._state.ephemeral[int(message["id"])] = record.user.id
        self.keep(channel, message, body, "create")
        return message

    def _callback_response(
        self, record: Interaction, kind: int, message: dict[str, Any] | None
    ) -> dict[str, Any]:
        interaction: dict[str, Any] = {
            "id": str(record.id),
            "type": record.payload["type"],
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and int(message["flags"]) & EPHEMERAL),
        }
        if message is not None:
            interaction["response_message_id"] = message["id"]
        result: dict[str, Any] = {"interaction": interaction}
        if kind in (4, 7) and message is not None:
            result["resource"] = {"type": kind, "message": message}
        return result

    # --- the interaction's webhook -----------------------------------------

    def _webhook_target(self, call: Call) -> Interaction:
        if int(call.params["webhook_id"]) != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        found = self._state.tokens.get(call.params["webhook_token"])
        record = self._state.interactions.get(found or 0)
        if record is None or time.perf_counter() - record.created > TOKEN_LIFETIME:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not record.acknowledged:
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    async def _followup(self, call: Call) -> Any:
        body = dict(call.body or {})
        with self._lock:
            record = self._webhook_target(call)
            channel = self._state.channels[record.channel_id]
            if record.deferred_message and not record.followups and record.original_id:
                original = self._state.messages[channel.id][record.original_id]
                record.followups.append(record.original_id)
                body["flags"] = int(original["flags"]) & ~LOADING
                message = self.edit(original, body, call, "edit")
                event = "MESSAGE_UPDATE"
            else:
                check_message(body, attachments=len(call.files))
                message = self._response_message(record, channel, body)
                record.followups.append(int(message["id"]))
                event = "MESSAGE_CREATE"
            hidden = int(message["id"]) in self._state.ephemeral
            payload = event_payload(self._state, message)
        if not hidden:
            await self.gateway.dispatch(event, payload, message_intent(channel))
        return message

    def _webhook_message(self, call: Call) -> tuple[Interaction, Channel, dict[str, Any]]:
        record = self._webhook_target(call)
        named = call.params["message_id"]
        message_id = record.original_id if named == "@original" else int(named)
        allowed = {record.original_id, *record.followups}
        if message_id is None or message_id not in allowed:
            raise ApiError(404, 10008, "Unknown Message")
        channel = self._state.channels[record.channel_id]
        message = self._state.messages.get(channel.id, {}).get(message_id)
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return record, channel, message

    async def _get_webhook_message(self, call: Call) -> Any:
        with self._lock:
            return self._webhook_message(call)[2]

    async def _edit_webhook_message(self, call: Call) -> Any:
        body = dict(call.body or {})
        with self._lock:
            _, channel, message = self._webhook_message(call)
            if int(message["flags"]) & LOADING:
                body["flags"] = int(message["flags"]) & ~LOADING
            message = self.edit(message, body, call, "edit")
            hidden = int(message["id"]) in self._state.ephemeral
            payload = event_payload(self._state, message)
        if not hidden:
            await self.gateway.dispatch("MESSAGE_UPDATE", payload, message_intent(channel))
        return message

    async def _delete_webhook_message(self, call: Call) -> Any:
        with self._lock:
            _, channel, message = self._webhook_message(call)
            self.forget(channel.id, message)
            hidden = int(message["id"]) in self._state.ephemeral
        if not hidden:
            event = {"id": message["id"], "channel_id": str(channel.id)}
            if channel.guild_id is not None:
                event["guild_id"] = str(channel.guild_id)
            await self.gateway.dispatch("MESSAGE_DELETE", event, message_intent(channel))
        return None
