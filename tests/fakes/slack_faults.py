"""Scripted faults of the fake Slack Web API: Slack's own errors and what a bad way to it does.

- :meth:`Faults.fail` — the next calls of a method get an error: HTTP 429
  ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After`` (what
  slack_sdk's ``AsyncRateLimitErrorRetryHandler`` waits out), a 5xx, or any
  Slack error name with HTTP 200 (``fail("chat.update", 200, "message_not_found")``);
- :meth:`Faults.fail_raw` — a body that is not Slack's JSON (a proxy's HTML
  "502 Bad Gateway" page);
- :meth:`Faults.drop` — the connection is closed without an answer (nothing done);
- :meth:`Faults.slow` — the answer comes only after a while (the call is carried out
  after the wait);
- :meth:`Faults.lose_answers` — the call is carried out (a message is posted), then
  its answer is lost: the connection is closed, or held open past the client's
  timeout first (``hang``);
- :meth:`Faults.rate_limit` — a sliding-window limit per method, as Slack's
  tiers do (``chat.update`` at most N calls per window, then 429 with the
  seconds until a slot frees);
- :meth:`Faults.slow_files` — ``url_private`` downloads start late;
- :meth:`Faults.assistant_unavailable` — ``assistant.threads.setStatus``
  answers an error, as for an app without the AI-app feature.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.slack_api import ApiError
from tests.fakes.slack_workspace import State

__all__ = ["HTML_502", "Failure", "Faults", "LostAnswer", "RateLimit"]

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
"""What nginx answers when the service behind it is down."""


@dataclass
class Failure:
    status: int
    error: str = ""
    retry_after: int | None = None
    times: int = 1
    body: bytes | None = None
    """A raw body instead of Slack's JSON."""
    content_type: str = "text/html"
    drop: bool = False
    delay: float = 0.0
    """Seconds before answering normally (:meth:`Faults.slow`)."""


@dataclass
class LostAnswer:
    times: int = 1
    hang: float = 0.0
    """Seconds the connection stays open, unanswered, before it is closed."""


@dataclass
class RateLimit:
    calls: int
    per: float
    at: deque[float] = field(default_factory=deque)

    def admit(self) -> int | None:
        """``None`` if a call may go now, else the whole seconds until one may."""
        now = time.monotonic()
        while self.at and now - self.at[0] >= self.per:
            self.at.popleft()
        if len(self.at) < self.calls:
            self.at.append(now)
            return None
        return max(1, math.ceil(self.per - (now - self.at[0])))


class Faults:
    """The fault knobs of :class:`~tests.fakes.slack_server.FakeSlack`."""

    _lock: threading.Lock
    _state: State

    def _script(self, method: str, failure: Failure) -> None:
        with self._lock:
            self._state.failures.setdefault(method, []).append(failure)

    def fail(
        self,
        method: str,
        status: int = 200,
        error: str = "",
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail like Slack would."""
        default = {429: "ratelimited"}.get(status, "fatal_error" if status >= 500 else "")
        if not (error or default):
            raise ValueError("an HTTP 200 failure needs Slack's error name")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._script(method, Failure(status, error or default, retry_after, times))

    def fail_raw(
        self,
        method: str,
        status: int = 502,
        body: bytes = HTML_502,
        *,
        content_type: str = "text/html",
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` get ``body`` (by default nginx's 502 page)."""
        self._script(method, Failure(status, times=times, body=body, content_type=content_type))

    def drop(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` lose their connection, unanswered."""
        self._script(method, Failure(0, times=times, drop=True))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are answered only after ``seconds``."""
        self._script(method, Failure(200, times=times, delay=seconds))

    def lose_answers(self, method: str, *, times: int = 1, hang: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is posted) and
        their answer never arrives: after ``hang`` seconds (0: at once) the connection is
        closed unanswered, as when a proxy or the network drops Slack's reply."""
        with self._lock:
            self._state.lost_answers.setdefault(method, []).append(LostAnswer(times, hang))

    def rate_limit(self, method: str, calls: int, per: float = 60.0) -> None:
        """At most ``calls`` calls of ``method`` per ``per`` seconds; more get 429."""
        with self._lock:
            self._state.limits[method] = RateLimit(calls, per)

    def slow_files(self, seconds: float) -> None:
        """File downloads answer only after ``seconds``."""
        with self._lock:
            self._state.file_delay = seconds

    def assistant_unavailable(self, error: str | None = "not_allowed_token_type") -> None:
        """``assistant.threads.setStatus`` answers ``error`` (``None``: works again)."""
        with self._lock:
            self._state.assistant_error = error

    def _next_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._state.failures.get(method)
            if not queue:
                return None
            failure: Failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        return failure

    async def _faulty(self, method: str, request: web.Request) -> web.Response | None:
        """The scripted answer to this call of ``method``, if one is due (Slack's own
        errors are raised as :class:`ApiError`)."""
        failure = self._next_failure(method)
        if failure is None:
            return None
        if failure.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if failure.delay:
            await asyncio.sleep(failure.delay)
            return None
        if failure.body is not None:
            return web.Response(
                status=failure.status, body=failure.body, content_type=failure.content_type
            )
        raise ApiError(failure.error, failure.status, retry_after=failure.retry_after)

    async def _lose_answer(self, method: str, request: web.Request) -> bool:
        """After a call of ``method`` was carried out: lose its answer if that is due."""
        with self._lock:
            queue = self._state.lost_answers.get(method)
            if not queue:
                return False
            lost: LostAnswer = queue[0]
            lost.times -= 1
            if lost.times <= 0:
                queue.pop(0)
        if lost.hang:
            await asyncio.sleep(lost.hang)
        if request.transport is not None:
            request.transport.abort()  # done, and no answer reaches the client
        return True

    def _throttle(self, method: str) -> None:
        with self._lock:
            limit = self._state.limits.get(method)
            wait = limit.admit() if limit is not None else None
        if wait is not None:
            raise ApiError("ratelimited", 429, retry_after=wait)
