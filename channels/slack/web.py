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
  ``chat.postMessage`` — a post whose answer was lost may have landed.

:meth:`SlackApi.post` retries a post itself, and only after looking: when a
post times out or loses its connection, the conversation's messages since
just before the post are read (``conversations.history``, or
``conversations.replies`` in a thread) and a message of this bot with the
same text counts as the post — Slack's answer was lost, not the message.

Every failure leaves here as a :class:`~channels.slack.errors.SlackChannelError`.
"""

from __future__ import annotations

import asyncio
import logging
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

from channels.slack.errors import CALL_FAILURES, SlackChannelError, SlackUnreachable, map_error

__all__ = [
    "MAX_RATE_WAIT",
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
TIMEOUT = 30
LOOK_BACK = 2.0
"""Seconds before a post that a lost post's check reads back from (clocks differ a little)."""
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
        bot_id: Callable[[], str] = lambda: "",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_delay: float = 1.0,
    ) -> None:
        """``bot_id``: this bot's ``B…`` id once known (a lost post's check looks for it)."""
        self.client = client
        self.bot_id = bot_id
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
        """``chat.postMessage``; after a lost answer, looks before it posts again."""
        params: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "thread_ts": thread_ts or None,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        where = f"{channel}" + (f" thread {thread_ts}" if thread_ts else "")
        since = time.time() - LOOK_BACK
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                reply = await self.client.api_call("chat.postMessage", json=_clean(params))
                return Posted(str(reply["channel"]), str(reply["ts"]))
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = map_error(exc, f"chat.postMessage in {where}")
                if attempt == POST_ATTEMPTS:
                    raise error from exc
                logger.warning("slack: %s; looking whether it landed", error)
                await self._sleep(self.retry_delay * attempt)
                found = await self._landed(channel, thread_ts, text, since)
                if found is not None:
                    logger.info("slack: the lost post in %s had landed (%s)", where, found.ts)
                    return found
            except CALL_FAILURES as exc:
                raise map_error(exc, f"chat.postMessage in {where}") from exc
        raise SlackUnreachable(f"chat.postMessage in {where}: no answer")  # pragma: no cover

    async def _landed(self, channel: str, thread_ts: str, text: str, since: float) -> Posted | None:
        """A message of this bot with ``text`` posted since ``since``, if Slack has one."""
        try:
            if thread_ts:
                reply = await self.get(
                    "conversations.replies", channel=channel, ts=thread_ts, oldest=f"{since:.6f}"
                )
            else:
                reply = await self.get(
                    "conversations.history", channel=channel, oldest=f"{since:.6f}"
                )
        except SlackChannelError as exc:
            logger.warning("slack: cannot tell whether a lost post landed (%s)", exc)
            return None
        bot = self.bot_id()
        for message in reply.get("messages") or []:
            if (
                isinstance(message, dict)
                and message.get("text") == text
                and (not bot or message.get("bot_id") == bot)
                and _after(message.get("ts"), since)
            ):
                return Posted(channel, str(message["ts"]))
        return None


def _after(ts: Any, since: float) -> bool:
    try:
        return float(str(ts)) >= since
    except ValueError:
        return False


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
