"""Scripted faults of the fake Bot API: Telegram's own errors, and what a bad way to it does.

- :meth:`Faults.fail` — the next calls of a method get Telegram's error answer
  (status, description, ``parameters.retry_after`` on 429);
- :meth:`Faults.fail_raw` — a body that is not the Bot API's JSON instead (a
  proxy's HTML "502 Bad Gateway" page, or bytes that are not valid text);
- :meth:`Faults.redirect_loop` — a 302 to ``/loop``, which redirects to
  itself: aiohttp gives up with ``TooManyRedirects``, whose text is the first
  request's URL — the token in it;
- :meth:`Faults.slow_files` — file downloads start answering only after a
  while (a big file on a slow link);
- :meth:`Faults.push_raw` — an update exactly as given, even without
  ``update_id`` (which Telegram never sends; a broken server might).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.telegram_methods import ApiError, State

__all__ = ["HTML_502", "LOOP_PATH", "Failure", "Faults"]

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
"""What nginx answers when the Bot API behind it is down."""
LOOP_PATH = "/loop"


@dataclass
class Failure:
    status: int
    description: str = ""
    retry_after: int | None = None
    times: int = 1
    body: bytes | None = None
    """A raw body instead of Telegram's JSON envelope."""
    content_type: str = "text/html"
    redirect: bool = False
    """Answer with a redirect into :data:`LOOP_PATH`."""


class Faults:
    """The fault knobs of :class:`~tests.fakes.telegram_server.FakeTelegram`."""

    _lock: threading.Lock
    _state: State
    _loop: asyncio.AbstractEventLoop | None

    def _script(self, method: str, failure: Failure) -> None:
        with self._lock:
            self._state.failures.setdefault(method, []).append(failure)

    def fail(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail like Telegram would."""
        if not description:
            description = {
                401: "Unauthorized",
                409: "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
                429: f"Too Many Requests: retry after {retry_after}",
            }.get(status, "Bad Request: can't parse entities: unsupported start tag")
        self._script(method, Failure(status, description, retry_after, times))

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

    def redirect_loop(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are redirected into an endless loop."""
        self._script(method, Failure(302, times=times, redirect=True))

    def lose_answers(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is sent) and
        then the connection is closed without an answer, as when a proxy or the network
        drops Telegram's reply."""
        with self._lock:
            self._state.lost_answers[method] = self._state.lost_answers.get(method, 0) + times

    def _answer_lost(self, method: str) -> bool:
        with self._lock:
            left = self._state.lost_answers.get(method, 0)
            if left:
                self._state.lost_answers[method] = left - 1
            return bool(left)

    def slow_files(self, seconds: float) -> None:
        """File downloads answer only after ``seconds``."""
        with self._lock:
            self._state.file_delay = seconds

    def push_raw(self, update: dict[str, Any]) -> None:
        """Queue ``update`` as it is (no ``update_id`` is added): the long poll gets it."""
        with self._lock:
            self._state.updates.append(update)
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._notify(), self._loop)

    async def _notify(self) -> None:  # the server's: wakes a waiting long poll
        raise NotImplementedError

    def _next_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._state.failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
        return failure

    def _faulty(self, method: str) -> web.Response | None:
        """The scripted answer to this call of ``method``, if one is due (raises Telegram's
        errors as :class:`ApiError`)."""
        failure = self._next_failure(method)
        if failure is None:
            return None
        if failure.redirect:
            return web.Response(status=302, headers={"Location": LOOP_PATH})
        if failure.body is not None:
            return web.Response(
                status=failure.status, body=failure.body, content_type=failure.content_type
            )
        raise ApiError(failure.status, failure.description, failure.retry_after)

    async def _loop_forever(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": LOOP_PATH})
