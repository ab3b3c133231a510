"""When and how long to wait before trying a model request again.

``Retry-After`` (or ``retry-after-ms``) from the API wins, capped; otherwise
exponential backoff with jitter. ``sleep`` and ``jitter`` are injectable so
tests neither wait nor guess.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from core.backoff import backoff_delay
from core.providers.errors import ProviderError, RateLimitError

__all__ = ["RetryPolicy", "parse_retry_after"]


async def _sleep(delay: float) -> None:
    await asyncio.sleep(delay)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is tried again.

    ``sleep`` and ``jitter`` are injectable so tests neither wait nor guess.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = _sleep
    jitter: Callable[[], float] = random.random
    """Returns a number in [0, 1); spreads clients that failed together apart."""

    def delay(self, attempt: int, error: ProviderError) -> float:
        """Seconds to wait before retry number ``attempt + 1``.

        The API's ``Retry-After`` wins when it gave one (capped at ``max_delay``);
        otherwise exponential backoff with "equal jitter": half fixed, half random.
        """
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        return backoff_delay(attempt, self.base_delay, self.max_delay, self.jitter)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After``
    as seconds or as an HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    millis = _finite(headers.get("retry-after-ms"))
    if millis is not None:
        return max(0.0, millis / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, float((when - datetime.now(UTC)).total_seconds()))


def _finite(text: str | None) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
