"""Slack's side of HTTP mode: requests signed exactly as Slack signs them, posted to an app.

Slack signs every request to a Request URL (api.slack.com/authentication/
verifying-requests-from-slack): ``X-Slack-Request-Timestamp`` is the Unix
time, ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of
``v0:<timestamp>:<raw body>`` keyed with the app's signing secret. An app
must refuse a bad signature or a timestamp more than five minutes off.

Events API callbacks are JSON bodies; interactivity payloads are forms with
one field, ``payload=<JSON>``. A redelivery carries ``X-Slack-Retry-Num``
(1, 2, 3) and ``X-Slack-Retry-Reason`` (``http_timeout``, ``http_error``,
``connection_failed``…). ``signing`` forges a request: ``forged`` (another
secret), ``omitted`` (no signature headers), ``stale`` (a correct signature
of a timestamp six minutes old), ``tampered`` (the body changed after
signing).

These helpers run on the caller's event loop; the fake server uses them
for its own deliveries (:mod:`tests.fakes.slack_delivery`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

__all__ = [
    "HttpReply",
    "Signing",
    "command_body",
    "event_body",
    "interactive_body",
    "post_event",
    "post_interactive",
    "post_signed",
    "sign",
    "signed_headers",
    "url_verification",
]

Signing = Literal["valid", "forged", "omitted", "stale", "tampered"]
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
STALE_SECONDS = 6 * 60


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """``X-Slack-Signature`` for ``body`` sent at ``timestamp``."""
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: bytes,
    *,
    signing: Signing = "valid",
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """Slack's request headers for ``body`` (forged as ``signing`` says)."""
    headers = {"User-Agent": USER_AGENT}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    if signing == "omitted":
        return headers
    now = int(time.time()) - (STALE_SECONDS if signing == "stale" else 0)
    key = secret if signing != "forged" else secret[::-1] + "x"
    signed = body if signing != "tampered" else body + b" "
    headers["X-Slack-Request-Timestamp"] = str(now)
    headers["X-Slack-Signature"] = sign(key, now, signed)
    return headers


@dataclass(frozen=True)
class HttpReply:
    """What the app answered (``status`` 0: no answer; ``error`` says why)."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0
    error: str | None = None
    """``http_timeout`` or ``connection_failed`` when there was no answer."""

    def json(self) -> Any:
        return json.loads(self.body)


def event_body(callback: dict[str, Any]) -> tuple[bytes, str]:
    """An Events API request body: the ``event_callback`` (or ``url_verification``) as JSON."""
    return json.dumps(callback).encode(), "application/json"


def interactive_body(payload: dict[str, Any]) -> tuple[bytes, str]:
    """An interactivity request body: ``payload=<JSON>`` form-encoded."""
    form = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return form.encode(), "application/x-www-form-urlencoded"


def command_body(payload: dict[str, Any]) -> tuple[bytes, str]:
    """A slash command request body: its fields form-encoded (no JSON)."""
    return urllib.parse.urlencode(payload).encode(), "application/x-www-form-urlencoded"


async def post_signed(
    url: str,
    body: bytes,
    content_type: str,
    secret: str,
    *,
    signing: Signing = "valid",
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timeout: float = 10.0,
) -> HttpReply:
    """POST ``body`` to ``url`` as Slack does; a timeout or refused connection is no error."""
    headers = signed_headers(
        secret, body, signing=signing, retry_num=retry_num, retry_reason=retry_reason
    )
    headers["Content-Type"] = content_type
    started = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, data=body, headers=headers, allow_redirects=False) as reply,
        ):
            text = await reply.text()
            return HttpReply(reply.status, text, dict(reply.headers), time.perf_counter() - started)
    except TimeoutError:
        return HttpReply(0, latency=time.perf_counter() - started, error="http_timeout")
    except aiohttp.ClientError:
        return HttpReply(0, latency=time.perf_counter() - started, error="connection_failed")


async def post_event(url: str, callback: dict[str, Any], secret: str, **options: Any) -> HttpReply:
    """POST an Events API callback (``options``: see :func:`post_signed`)."""
    body, content_type = event_body(callback)
    return await post_signed(url, body, content_type, secret, **options)


async def post_interactive(
    url: str, payload: dict[str, Any], secret: str, **options: Any
) -> HttpReply:
    """POST an interactivity payload (``block_actions``…) as Slack's form."""
    body, content_type = interactive_body(payload)
    return await post_signed(url, body, content_type, secret, **options)


async def url_verification(
    url: str,
    secret: str,
    challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    **options: Any,
) -> HttpReply:
    """The challenge Slack sends when a Request URL is saved; the app must echo it."""
    callback = {
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": challenge,
        "type": "url_verification",
    }
    return await post_event(url, callback, secret, **options)
