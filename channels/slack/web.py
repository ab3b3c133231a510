"""Calling Slack's Web API: the one client, rate limits, retries that never post twice.

:func:`make_client` builds the ``AsyncWebClient`` every call goes through
(bolt's ``AsyncApp`` gets it too, and copies its ``base_url`` and retry
handlers into its per-request clients): ``apiBase`` as ``base_url``, one
shared aiohttp session, and retry handlers —

- a 429 is waited out for its ``Retry-After`` (slack_sdk's
  ``AsyncRateLimitErrorRetryHandler``) a few times, unless Slack asks for more
  than :data:`MAX_RATE_WAIT` seconds at once: then the call fails rather than
  holding its chat;
- connection failures and 500/503 are retried once for every method except
  ``chat.postMessage`` — a post whose answer was lost may have landed, so
  slack_sdk never repeats one (:class:`SafeToRepeat`).

:meth:`SlackApi.post` posts once, and again only when it knows the first did
not land. Every post carries message ``metadata`` with an id of its own
(``{"event_type": "facio_post", "event_payload": {"id": …}}``, invisible to
people). When a post's answer is lost after the request went out (a timeout,
the connection closed or reset while waiting: :func:`~channels.chat.lost_answers.answer_lost`),
the conversation is read back (``conversations.replies`` in a thread,
``conversations.history`` otherwise, ``include_all_metadata``, from just
before the post on) for a message with that id:

- found: that is the post (its ``ts`` is used; nothing is posted again);
- not found: it is posted again, with the same id;
- the read fails too: :class:`~.errors.SlackMaybeSent` (the chat layer's
  ``MaybeDelivered``) — it may be there, so it is not posted again.

A connection that never opened reached nothing: the post is simply tried
again (:data:`POST_ATTEMPTS` tries in all). Slack may still be working on a
post when it is read back (the answer was late, not lost): the read waits
:attr:`SlackApi.retry_delay` first, which covers Slack's usual latency, not
a post stuck for longer.

Every failure leaves here as a :class:`~channels.slack.errors.SlackChannelError`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.chat.lost_answers import NOT_SENT, answer_lost
from channels.slack.errors import (
    CALL_FAILURES,
    SlackChannelError,
    SlackMaybeSent,
    SlackUnreachable,
    map_error,
)

__all__ = [
    "MAX_RATE_WAIT",
    "POST_EVENT",
    "PUBLIC_API",
    "Posted",
    "SlackApi",
    "api_base_of",
    "make_client",
]

logger = logging.getLogger(__name__)

PUBLIC_API = "https://slack.com/api/"
MAX_RATE_WAIT = 60
"""Seconds of one ``Retry-After`` that a call waits out; a longer one fails the call."""
RATE_RETRIES = 5
POST_ATTEMPTS = 3
"""Tries of one post: a connection that never opened, an answer lost and the post not found."""
TIMEOUT = 30
LOOK_BACK = 2.0
"""Seconds before a post that a lost post's check reads back from (clocks differ a little)."""
LOOK_LIMIT = 50
"""Messages a lost post's check reads: its window is seconds long."""
POST_EVENT = "facio_post"
"""The ``event_type`` of the metadata that every post carries (its ``id`` finds it again)."""
UNSAFE = ("chat.postMessage",)
"""Methods a lost answer makes unsafe to repeat blindly (the message may have landed)."""


def api_base_of(api_base: str) -> str:
    """slack_sdk's ``base_url``: ``apiBase`` with its trailing slash, or Slack's own."""
    if not api_base:
        return PUBLIC_API
    return api_base if api_base.endswith("/") else api_base + "/"


class CappedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Waits out a 429's ``Retry-After`` unless it asks for more than ``max_wait`` seconds."""

    def __init__(self, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
        try:
            wait = float(values[0])
        except ValueError:
            wait = 1.0
        if wait > self.max_wait:
            logger.warning("slack: %s is rate limited for %.0f s; not waiting", request.url, wait)
            return False
        logger.info("slack: rate limited on %s; waiting %.0f s", _method(request.url), wait)
        return True


class SafeToRepeat(AsyncRetryHandler):
    """``inner``, for the methods that may be repeated after a lost answer (not posts)."""

    def __init__(self, inner: AsyncRetryHandler) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self.inner = inner

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _method(request.url) in UNSAFE:
            return False
        return await self.inner._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def _method(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


def make_client(
    token: str,
    api_base: str,
    *,
    session: aiohttp.ClientSession | None = None,
    timeout: int = TIMEOUT,
    max_rate_wait: float = MAX_RATE_WAIT,
    retries: bool = True,
) -> AsyncWebClient:
    """The channel's ``AsyncWebClient`` (see the module docstring); ``retries=False`` for
    ``facio doctor``, which says what it finds at once."""
    handlers: list[AsyncRetryHandler] = []
    if retries:
        handlers = [
            CappedRateLimitHandler(RATE_RETRIES, max_rate_wait),
            SafeToRepeat(AsyncConnectionErrorRetryHandler(max_retry_count=1)),
            SafeToRepeat(AsyncServerErrorRetryHandler(max_retry_count=1)),
        ]
    return AsyncWebClient(
        token=token,
        base_url=api_base_of(api_base),
        session=session,
        timeout=timeout,
        retry_handlers=handlers,
    )


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str
    ts: str


class SlackApi:
    """The channel's Web API calls, each mapped to its errors (see the module docstring)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_delay: float = 1.0,
    ) -> None:
        """``retry_delay``: the first wait before a post is tried again or looked for."""
        self.client = client
        self._sleep = sleep
        self.retry_delay = retry_delay

    async def call(self, method: str, where: str = "", **params: Any) -> AsyncSlackResponse:
        """``method`` with ``params``; any failure as the channel's error."""
        what = f"{method} in {where}" if where else method
        try:
            return await self.client.api_call(method, json=_clean(params))
        except CALL_FAILURES as exc:
            raise map_error(exc, what) from exc

    async def get(self, method: str, **params: Any) -> AsyncSlackResponse:
        """A read method, its parameters in the query string (as Slack documents them)."""
        try:
            return await self.client.api_call(method, http_verb="GET", params=_clean(params))
        except CALL_FAILURES as exc:
            raise map_error(exc, method) from exc

    async def open_connection(self, app_token: str) -> str:
        """``apps.connections.open`` with the app-level token: a Socket Mode URL."""
        try:
            reply = await self.client.apps_connections_open(app_token=app_token)
        except CALL_FAILURES as exc:
            raise map_error(exc, "apps.connections.open") from exc
        return str(reply["url"])

    async def post(
        self,
        channel: str,
        text: str,
        *,
        thread_ts: str = "",
        blocks: list[dict[str, Any]] | None = None,
    ) -> Posted:
        """``chat.postMessage``, never twice (see the module docstring)."""
        post_id = secrets.token_hex(16)
        params: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "thread_ts": thread_ts or None,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": POST_EVENT, "event_payload": {"id": post_id}},
        }
        where = f"{channel}" + (f" thread {thread_ts}" if thread_ts else "")
        since = time.time() - LOOK_BACK
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                reply = await self.client.api_call("chat.postMessage", json=_clean(params))
                return Posted(str(reply["channel"]), str(reply["ts"]))
            except CALL_FAILURES as exc:
                error = map_error(exc, f"chat.postMessage in {where}")
                last = attempt == POST_ATTEMPTS
                if isinstance(exc, NOT_SENT) and not last:
                    logger.warning("slack: %s; trying again", error)
                    await self._sleep(self.retry_delay * attempt)
                    continue
                if not answer_lost(exc):
                    raise error from exc
                logger.warning("slack: %s; looking whether it landed", error)
                await self._sleep(self.retry_delay * attempt)
                found = await self._landed(channel, thread_ts, post_id, since, error)
                if found is not None:
                    logger.info("slack: the lost post in %s had landed (%s)", where, found.ts)
                    return found
                if last:
                    raise error from exc
                logger.info("slack: the lost post in %s is not there; posting it again", where)
        raise SlackUnreachable(f"chat.postMessage in {where}: no answer")  # pragma: no cover

    async def _landed(
        self, channel: str, thread_ts: str, post_id: str, since: float, lost: SlackChannelError
    ) -> Posted | None:
        """The message carrying ``post_id``, if Slack has it; :class:`SlackMaybeSent` (for
        the post that ``lost`` its answer) when the conversation cannot be read."""
        window: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{since:.6f}",
            "limit": LOOK_LIMIT,
            "include_all_metadata": True,
        }
        try:
            if thread_ts:
                reply = await self.get("conversations.replies", ts=thread_ts, **window)
            else:
                reply = await self.get("conversations.history", **window)
        except SlackChannelError as exc:
            raise SlackMaybeSent(
                f"{lost}; reading it back failed too ({exc}): not posted again, it may be there"
            ) from exc
        for message in reply.get("messages") or []:
            if _post_id(message) == post_id:
                return Posted(channel, str(message["ts"]))
        return None


def _post_id(message: Any) -> str | None:
    """The id in the metadata of one of this app's posts (see :meth:`SlackApi.post`)."""
    match message:
        case {
            "ts": str(),
            "metadata": {"event_type": str(kind), "event_payload": {"id": str(id_)}},
        }:
            return id_ if kind == POST_EVENT else None
    return None


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
