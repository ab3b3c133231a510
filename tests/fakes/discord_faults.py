"""Scripted faults and rate limits of the fake Discord's REST API.

Routes are named as discord.py's ``Route.key`` names them, method and
template: ``"POST /channels/{channel_id}/messages"``, ``"PATCH
/channels/{channel_id}/messages/{message_id}"``, ``"POST
/interactions/{interaction_id}/{interaction_token}/callback"``; ``"*"``
matches every route.

- :meth:`Faults.fail` — the next calls get an error answer: a 429 exactly as
  Discord sends it (``Retry-After``, the ``X-RateLimit-*`` headers, ``Via``, and
  ``{"message": "You are being rate limited.", "retry_after": 0.5, "global":
  false}``; discord.py waits ``retry_after`` and retries — and treats a 429
  *without* ``Via`` as a Cloudflare ban it does not retry), a 500 (discord.py
  retries 500/502/504 after 1, 3, 5, 7 s), or any status/code/message;
- :meth:`Faults.drop` — the connection is cut before an answer (aiohttp:
  ``ServerDisconnectedError``; discord.py retries only ECONNRESET as errno
  54/10054 — BSD and Windows — so on Linux the caller sees the error);
- :meth:`Faults.slow` — the answer comes only after a delay;
- :meth:`Faults.limit` — a real bucket: ``count`` calls per ``per`` seconds per
  route and channel, announced in ``X-RateLimit-Limit/Remaining/Reset/
  Reset-After/Bucket`` on every answer (discord.py then paces itself), a 429
  with the time left when exceeded. Without it no rate limit headers are sent
  on successful answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_state import State
from tests.fakes.discord_validation import ApiError

__all__ = ["Bucket", "Failure", "Faults", "error_response", "json_response", "rate_limited"]


@dataclass
class Failure:
    status: int = 0
    code: int = 0
    message: str = ""
    retry_after: float | None = None
    global_: bool = False
    times: int = 1
    drop: bool = False
    delay: float = 0.0


@dataclass
class Bucket:
    count: int
    per: float
    used: dict[str, list[float]] = field(default_factory=dict)
    """Major parameter (channel id) → times of the calls in the current window."""


def bucket_hash(route: str) -> str:
    return hashlib.sha1(route.encode()).hexdigest()[:16]


def rate_limited(
    route: str, retry_after: float, *, global_: bool = False, limit: int = 5
) -> web.Response:
    """Discord's 429 for ``route``."""
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": "global" if global_ else "user",
        "Via": "1.1 google",
    }
    if global_:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(
            {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket_hash(route),
            }
        )
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": global_}
    return json_response(body, status=429, headers=headers)


class Faults:
    """The fault knobs of :class:`~tests.fakes.discord_server.FakeDiscord`."""

    _lock: threading.Lock
    _state: State
    _buckets: dict[str, Bucket]

    def fail(
        self,
        route: str,
        status: int,
        *,
        retry_after: float | None = None,
        code: int = 0,
        message: str = "",
        global_: bool = False,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``route`` get this error (429: Discord's rate limit
        answer with ``retry_after`` seconds, 0.5 unless given)."""
        if status == 429 and retry_after is None:
            retry_after = 0.5
        if not message:
            message = {500: "500: Internal Server Error", 502: "502: Bad Gateway"}.get(
                status, f"{status}: Error"
            )
        failure = Failure(status, code, message, retry_after, global_, times)
        self._script(route, failure)

    def drop(self, route: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``route`` lose their connection without an answer."""
        self._script(route, Failure(drop=True, times=times))

    def slow(self, route: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` calls of ``route`` are answered only after ``seconds``."""
        self._script(route, Failure(delay=seconds, times=times))

    def limit(self, route: str, count: int, per: float) -> None:
        """``route`` allows ``count`` calls per ``per`` seconds per channel (Discord's bucket)."""
        with self._lock:
            self._buckets[route] = Bucket(count, per)

    def _script(self, route: str, failure: Failure) -> None:
        with self._lock:
            self._state.failures.setdefault(route, []).append(failure)

    def _next_failure(self, key: str) -> Failure | None:
        with self._lock:
            for route in (key, "*"):
                queue = self._state.failures.get(route)
                if queue:
                    failure: Failure = queue[0]
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.pop(0)
                    return failure
        return None

    async def _faulty(self, request: web.Request, key: str) -> web.StreamResponse | None:
        """The scripted answer to this call, if one is due."""
        failure = self._next_failure(key)
        if failure is None:
            return None
        if failure.delay:
            await asyncio.sleep(failure.delay)
            return None
        if failure.drop:  # the answer below is never written
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        if failure.status == 429:
            assert failure.retry_after is not None
            return rate_limited(key, failure.retry_after, global_=failure.global_)
        raise ApiError(failure.status, failure.code, failure.message)

    def _bucket_headers(self, key: str, major: str) -> tuple[dict[str, str], float | None]:
        """Count this call in its bucket: the headers to send, and the seconds left
        when the bucket is empty (the call is then answered 429)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return {}, None
            now = time.monotonic()
            used = [t for t in bucket.used.get(major, []) if now - t < bucket.per]
            reset_after = (used[0] + bucket.per - now) if used else bucket.per
            if len(used) >= bucket.count:
                bucket.used[major] = used
                return {}, max(reset_after, 0.001)
            used.append(now)
            bucket.used[major] = used
            reset_after = used[0] + bucket.per - now
        return {
            "X-RateLimit-Limit": str(bucket.count),
            "X-RateLimit-Remaining": str(bucket.count - len(used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(key),
        }, None

    def _bucket_limit(self, key: str) -> int:
        with self._lock:
            bucket = self._buckets.get(key)
            return bucket.count if bucket else 5


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with Discord's exact ``Content-Type: application/json`` (no charset: discord.py
    compares the header verbatim and treats anything else as text)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def error_response(exc: ApiError) -> web.Response:
    return json_response(exc.body(), status=exc.status)
