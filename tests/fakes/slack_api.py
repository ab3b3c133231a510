"""The Web API side of the fake Slack: requests as slack_sdk sends them, answers as Slack gives.

``POST /api/<method>`` (``GET`` too, for the read methods) with parameters in
the query string, a form body (urlencoded or multipart) or a JSON body —
slack_sdk's ``AsyncWebClient`` sends ``chat.*`` as JSON and most others as
query parameters of a POST. The token is the ``Authorization: Bearer`` header
or, in a form body only, a ``token`` field (Slack ignores ``token`` in a JSON
body). Every answer is HTTP 200 with ``{"ok": …}`` except scripted faults and
rate limits (429 with ``Retry-After``); the headers carry ``x-oauth-scopes``
(the bot token's scopes) and ``x-accepted-oauth-scopes`` like Slack's.

Checks, in Slack's order: unknown method → ``unknown_method``; no token →
``not_authed``; a token that is neither the bot's nor the app's →
``invalid_auth``; the app-level (``xapp-``) token anywhere but
``apps.connections.open``, or the bot token there → ``not_allowed_token_type``;
a scope the bot token lacks → ``missing_scope`` with ``needed``/``provided``;
a malformed JSON body → ``invalid_json``.

``conversations.history`` and ``conversations.replies`` take Slack's window:
``oldest``/``latest`` (exclusive unless ``inclusive``), ``limit`` (default
100; ``has_more`` when more matched; no cursor pages), and show messages'
``metadata`` only with ``include_all_metadata``. A thread's parent always
comes first in ``conversations.replies``, as in Slack.

The chat methods are :mod:`tests.fakes.slack_chat`; this module has
``auth.test``, ``users.info``, ``conversations.info|open|history|replies``,
``files.info``, ``apps.connections.open`` and ``assistant.threads.setStatus``.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_workspace import (
    APP_ID,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    State,
)

__all__ = ["SPECS", "ApiError", "MethodSpec", "WebApi", "flag", "read_params"]

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class ApiError(Exception):
    """Slack's ``{"ok": false, "error": …}``; ``extra`` adds fields (``needed``, ``errors``…)."""

    def __init__(
        self, error: str, status: int = 200, *, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.extra = extra


@dataclass(frozen=True)
class MethodSpec:
    scopes: tuple[str, ...] = ()
    """Accepted scopes, any one of them (empty: none needed)."""
    token: str = "bot"
    """``bot`` (``xoxb-``) or ``app`` (``xapp-``)."""


_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
SPECS: dict[str, MethodSpec] = {
    "auth.test": MethodSpec(),
    "chat.postMessage": MethodSpec(("chat:write",)),
    "chat.update": MethodSpec(("chat:write",)),
    "chat.delete": MethodSpec(("chat:write",)),
    "chat.postEphemeral": MethodSpec(("chat:write",)),
    "reactions.add": MethodSpec(("reactions:write",)),
    "reactions.remove": MethodSpec(("reactions:write",)),
    "assistant.threads.setStatus": MethodSpec(("chat:write", "assistant:write")),
    "users.info": MethodSpec(("users:read",)),
    "conversations.info": MethodSpec(("channels:read", "groups:read", "im:read", "mpim:read")),
    "conversations.open": MethodSpec(("im:write", "mpim:write")),
    "conversations.history": MethodSpec(_HISTORY),
    "conversations.replies": MethodSpec(_HISTORY),
    "files.info": MethodSpec(("files:read",)),
    "apps.connections.open": MethodSpec(("connections:write",), token="app"),
}
_READ_SCOPE = {"channel": "channels:read", "group": "groups:read", "im": "im:read"}
_HISTORY_SCOPE = {"channel": "channels:history", "group": "groups:history", "im": "im:history"}


def flag(value: Any) -> bool:
    """A boolean parameter as Slack reads it (``true``/``1`` in forms)."""
    return value is True or value == 1 or (isinstance(value, str) and value in ("true", "1"))


async def read_params(request: web.Request) -> tuple[dict[str, Any], bool]:
    """The call's parameters (query string, then body) and whether the body was JSON."""
    params: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params, False
    raw = await request.read()
    if request.content_type == "application/json":
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError("invalid_json") from exc
        if not isinstance(body, dict):
            raise ApiError("json_not_object")
        params.update(body)
        return params, True
    if request.content_type in _FORMS:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params, False


@dataclass(frozen=True)
class Window:
    """Which messages a history read asks for (Slack's ``oldest``, ``latest``, ``limit``)."""

    oldest: float
    latest: float
    inclusive: bool
    limit: int
    metadata: bool

    @classmethod
    def of(cls, params: dict[str, Any]) -> Window:
        try:
            oldest = float(params.get("oldest") or 0)
            latest = float(params.get("latest") or "inf")
            limit = int(params.get("limit") or 100)
        except ValueError as exc:
            raise ApiError("invalid_arguments") from exc
        if limit < 1:
            raise ApiError("invalid_limit")
        return cls(
            oldest,
            latest,
            flag(params.get("inclusive")),
            min(limit, 999),
            flag(params.get("include_all_metadata")),
        )

    def holds(self, ts: str) -> bool:
        at = float(ts)
        if self.inclusive:
            return self.oldest <= at <= self.latest
        return self.oldest < at < self.latest


def _need(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


class WebApi:
    """Authentication, scopes and the informational methods; the server adds the rest."""

    url: str
    scopes: tuple[str, ...]
    _lock: threading.Lock
    _state: State

    # --- who is calling --------------------------------------------------

    def _authorize(self, token: str | None, spec: MethodSpec) -> None:
        if not token:
            raise ApiError("not_authed")
        if token not in (BOT_TOKEN, APP_TOKEN):
            raise ApiError("invalid_auth")
        if (token == APP_TOKEN) != (spec.token == "app"):
            raise ApiError("not_allowed_token_type")
        granted = ("connections:write",) if token == APP_TOKEN else self.scopes
        if spec.scopes and not set(spec.scopes) & set(granted):
            self._missing(spec.scopes[0])

    def _missing(self, scope: str) -> None:
        raise ApiError("missing_scope", needed=scope, provided=",".join(self.scopes))

    def _headers(self, token: str | None, method: str) -> dict[str, str]:
        headers = {"x-slack-req-id": secrets.token_hex(16)}
        if token == BOT_TOKEN:
            headers["x-oauth-scopes"] = ",".join(self.scopes)
            spec = SPECS.get(method)
            headers["x-accepted-oauth-scopes"] = ",".join(spec.scopes if spec else ())
        return headers

    # --- conversations, as the bot may see them ---------------------------

    def _im_with(self, user_id: str) -> Channel:
        """The bot's DM with ``user_id`` (opened on first use, as posting to a user id does)."""
        for channel in self._state.channels.values():
            if channel.kind == "im" and channel.user == user_id:
                return channel
        channel = Channel(f"D{user_id[1:]}", user_id, "im", {BOT_USER_ID, user_id}, user=user_id)
        self._state.channels[channel.id] = channel
        self._state.messages.setdefault(channel.id, {})
        return channel

    def _visible(self, channel_id: Any) -> Channel:
        """A conversation the bot can see, else ``channel_not_found`` (call under the lock)."""
        if isinstance(channel_id, str) and channel_id in self._state.users:
            return self._im_with(channel_id)
        channel = self._state.channels.get(str(channel_id or ""))
        if channel is None or (channel.private and BOT_USER_ID not in channel.members):
            raise ApiError("channel_not_found")
        return channel

    def _writable(self, channel_id: Any) -> Channel:
        """A conversation the bot may post in (``not_in_channel``, ``is_archived``)."""
        channel = self._visible(channel_id)
        if BOT_USER_ID not in channel.members:
            raise ApiError("not_in_channel")
        if channel.archived:
            raise ApiError("is_archived")
        return channel

    # --- informational methods -------------------------------------------

    async def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "facio",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    async def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            user = self._state.users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.wire()}

    async def _m_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            channel = self._visible(params.get("channel"))
            wire = channel.wire()
        scope = _READ_SCOPE.get(channel.kind, "mpim:read")
        if scope not in self.scopes:
            self._missing(scope)
        return {"channel": wire}

    async def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1:
            raise ApiError("users_list_not_supplied" if not users else "not_supported")
        with self._lock:
            if users[0] not in self._state.users:
                raise ApiError("user_not_found")
            channel = self._im_with(users[0])
            wire = channel.wire() if flag(params.get("return_im")) else {"id": channel.id}
        return {"no_op": True, "already_open": True, "channel": wire}

    def _readable(self, channel_id: Any) -> Channel:
        channel = self._visible(channel_id)
        if BOT_USER_ID not in channel.members:
            raise ApiError("not_in_channel")
        scope = _HISTORY_SCOPE.get(channel.kind, "mpim:history")
        if scope not in self.scopes:
            self._missing(scope)
        return channel

    async def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages in the window, newest first (one page: no cursor)."""
        window = Window.of(params)
        with self._lock:
            channel = self._readable(params.get("channel"))
            stored = self._state.messages.get(channel.id, {}).values()
            found = [
                m.wire(metadata=window.metadata)
                for m in stored
                if not m.deleted and m.thread_ts in (None, m.ts) and window.holds(m.ts)
            ]
        found.sort(key=lambda m: m["ts"], reverse=True)
        return {
            "messages": found[: window.limit],
            "has_more": len(found) > window.limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    async def _m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread: its parent, then the replies in the window, oldest first."""
        window = Window.of(params)
        with self._lock:
            channel = self._readable(params.get("channel"))
            stored = self._state.messages.get(channel.id, {})
            parent = stored.get(str(params.get("ts") or ""))
            if parent is None:
                raise ApiError("thread_not_found")
            root = stored.get(parent.thread_ts or parent.ts, parent)
            replies = sorted(
                (
                    m
                    for m in stored.values()
                    if not m.deleted
                    and m.thread_ts == root.ts
                    and m is not root
                    and window.holds(m.ts)
                ),
                key=lambda m: m.ts,
            )
            shown = ([] if root.deleted else [root]) + replies
            found = [m.wire(metadata=window.metadata) for m in shown[: window.limit]]
        return {
            "messages": found,
            "has_more": len(shown) > window.limit,
            "response_metadata": {"next_cursor": ""},
        }

    async def _m_files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            found = self._state.files.get(str(params.get("file") or ""))
        if found is None:
            raise ApiError("file_not_found")
        return {"file": found.wire(self.url), "comments": [], "response_metadata": {}}

    async def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        with self._lock:
            self._state.tickets.add(ticket)
        socket = self.url.replace("http://", "ws://", 1)
        return {"url": f"{socket}/link/?ticket={ticket}&app_id={APP_ID}"}

    async def _m_assistant_threads_setStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            error = self._state.assistant_error
        if error is not None:
            raise ApiError(error)
        _need(params, "channel_id", "thread_ts")
        if not isinstance(params.get("status"), str):
            _need(params, "status")  # "" clears the status; absent is an error
        with self._lock:
            channel = self._visible(params["channel_id"])
            if str(params["thread_ts"]) not in self._state.messages.get(channel.id, {}):
                raise ApiError("invalid_thread_ts")
            self._state.statuses.append(dict(params))
        return {}
