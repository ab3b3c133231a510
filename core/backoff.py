"""Exponential backoff, written once: model requests, platform reconnects, lane retries.

The n-th wait (n from 0) is ``base * 2**n``, capped; with ``jitter`` (a
function returning a number in [0, 1)) it is "equal jitter" — half fixed,
half random — so clients that failed together spread apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "backoff_delay"]


def backoff_delay(
    attempt: int, base: float, cap: float, jitter: Callable[[], float] | None = None
) -> float:
    """Seconds to wait before try number ``attempt + 1``."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 62))
    if jitter is None:
        return ceiling
    return ceiling / 2 + jitter() * ceiling / 2


@dataclass
class Backoff:
    """The waits of one run of failures: :meth:`next` grows, :meth:`reset` after a success."""

    base: float
    cap: float
    jitter: Callable[[], float] | None = None
    _attempt: int = field(default=0, init=False)

    def next(self) -> float:
        """The next wait (and count the failure)."""
        delay = backoff_delay(self._attempt, self.base, self.cap, self.jitter)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        self._attempt = 0
