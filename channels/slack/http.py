"""HTTP mode: the Events API and interactivity on one path of the gateway's HTTP server.

Slack POSTs events (JSON) and clicks (a form with ``payload=<JSON>``) to the
Request URL; a TLS proxy forwards them to ``path`` (``/slack/events``). Each
request goes through these checks, in order, before bolt sees it:

1. at most :data:`MAX_BODY` bytes (Slack's payloads are a few KB) — else 413;
2. signed as Slack signs: ``X-Slack-Signature`` is ``v0=`` + HMAC-SHA256 of
   ``v0:<X-Slack-Request-Timestamp>:<raw body>`` with the signing secret, the
   timestamp within five minutes (:func:`signed`, on the raw bytes) — else
   401, and nothing reaches the channel;
3. UTF-8, JSON (or a form whose ``payload`` is JSON), an object, nested at
   most :data:`MAX_DEPTH` deep — else 400.

Answers never echo the request and stay short. Then bolt answers
``url_verification``, verifies the signature again (the same check) and
runs the listeners (:mod:`.app`): 200 when handled; a Redis failure while
handling is 503 so that Slack delivers the event again (with
``X-Slack-Retry-Num``, deduplicated by the intake).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from channels.slack.app import RETRY_LATER

__all__ = ["MAX_BODY", "MAX_DEPTH", "SIGNATURE_WINDOW", "HttpReceiver", "signed", "well_formed"]

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Bytes of a request body; Slack's events and clicks are far smaller."""
MAX_DEPTH = 64
"""Nesting of a payload's JSON; Slack's go a dozen levels deep."""
SIGNATURE_WINDOW = 5 * 60
"""Seconds a request's timestamp may be off (Slack: five minutes, against replays)."""


def signed(secret: bytes, raw: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Did Slack sign ``raw``? ``v0=`` + hex HMAC-SHA256 of ``v0:<timestamp>:<raw body>``,
    the timestamp within five minutes of ``now`` (what slack_sdk's ``SignatureVerifier``
    checks, on the raw bytes: it decodes the body as UTF-8 first, and fails on other bytes)."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) < 16):
        return False
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = b"v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


_OBJECTS = ("event", "user", "container", "channel", "message", "view", "authorizations")
_TEXTS = ("type", "team_id", "api_app_id", "event_id", "token", "response_url", "trigger_id")


def _shaped(value: dict[str, Any]) -> None:
    """The fields bolt reads before any listener have the types it assumes."""
    for name in _TEXTS:
        if name in value and not isinstance(value[name], str):
            raise ValueError(f"{name} is not a string")
    for name in _OBJECTS:
        expected = list if name == "authorizations" else dict
        if name in value and value[name] is not None and not isinstance(value[name], expected):
            raise ValueError(f"{name} is not an object")
    event = value.get("event")
    if isinstance(event, dict) and not isinstance(event.get("type"), str):
        raise ValueError("the event has no type")
    for name in ("team", "enterprise"):
        if name in value and not isinstance(value[name], dict | str | None):
            raise ValueError(f"{name} is neither an object nor a string")
    actions = value.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        raise ValueError("actions is not a list of objects")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError("the body is not JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("the payload is not a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise ValueError("the payload is nested too deeply")
    _shaped(value)
    return value


def well_formed(raw: bytes, content_type: str) -> str:
    """``raw`` as text when it is a payload bolt can read; ``ValueError`` says why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("the body is not UTF-8") from exc
    if content_type == "application/json" or text.startswith("{"):
        _json_object(text)
        return text
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        _json_object(form["payload"])
    elif "command" not in form and "ssl_check" not in form:
        raise ValueError("neither an event, a payload nor a command")
    return text


class HttpReceiver:
    """The route (see the module docstring)."""

    def __init__(self, app: AsyncApp, signing_secret: str, path: str) -> None:
        self.app = app
        self.path = path
        self.secret = signing_secret.encode()

    def route(self, app: web.Application) -> None:
        app.router.add_post(self.path, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, "request body too large")
        try:
            raw = await request.content.read(MAX_BODY + 1)
        except (ConnectionError, ValueError):
            return _refuse(400, "unreadable body")
        if len(raw) > MAX_BODY:
            return _refuse(413, "request body too large")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not signed(self.secret, raw, timestamp, signature, time.time()):
            logger.info("slack: refused a request without a valid signature")
            return _refuse(401, "invalid signature")
        try:
            text = well_formed(raw, request.content_type)
        except ValueError as exc:
            logger.warning("slack: refused a malformed request: %s", exc)
            return _refuse(400, str(exc))
        try:
            bolt_request = AsyncBoltRequest(
                body=text, query=request.query_string, headers=dict(request.headers)
            )
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            logger.warning("slack: refused a payload bolt cannot read: %s", type(exc).__name__)
            return _refuse(400, "malformed payload")
        token = RETRY_LATER.set(False)
        try:
            response = await self.app.async_dispatch(bolt_request)
            retry = RETRY_LATER.get()
        finally:
            RETRY_LATER.reset(token)
        if response.status >= 500:
            if retry:
                return _refuse(503, "try again")
            logger.warning("slack: a payload failed in bolt; answered 400")
            return _refuse(400, "malformed payload")
        return await to_aiohttp_response(response)


def _refuse(status: int, why: str) -> web.Response:
    return web.json_response({"ok": False, "error": why}, status=status)
