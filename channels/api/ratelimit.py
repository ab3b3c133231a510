"""Failed sign-ins per client address: after ``limit`` in ``window`` seconds, 429 for a while.

A bearer token cannot be guessed in any useful number of tries, but nothing
should be allowed to try without limit either (the console's sign-in form
is a page anyone who reaches the gateway can load). While an address is
limited *every* request from it is refused, the right token included:
otherwise a 200 among the 429s would still tell a guesser which guess was
right.

The address is the connection's peer (``request.remote``); ``X-Forwarded-For``
is not trusted (anyone can send it). Behind a reverse proxy every client
shares the proxy's address, so a burst of bad tokens locks the proxy's
clients out for up to a window: limit sign-ins at the proxy too, or keep the
gateway on loopback (docs/console.md, "Security").
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["MAX_CLIENTS", "SIGN_IN_LIMIT", "SIGN_IN_WINDOW", "FailureLimiter"]

SIGN_IN_LIMIT = 10
"""Failed attempts an address may make within :data:`SIGN_IN_WINDOW`."""
SIGN_IN_WINDOW = 60.0
"""Seconds a failed attempt counts against its address."""
MAX_CLIENTS = 10_000
"""Addresses remembered at most; the ones whose failures have aged out go first."""


class FailureLimiter:
    """Counts failures per client in a sliding window (process memory, one per gateway)."""

    def __init__(
        self,
        limit: int = SIGN_IN_LIMIT,
        window: float = SIGN_IN_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again; None when it may now."""
        failures = self._recent(client)
        if failures is None or len(failures) < self.limit:
            return None
        return max(math.ceil(failures[0] + self.window - self.clock()), 1)

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        failures = self._recent(client)
        if failures is None:
            if len(self._failures) >= self.max_clients:
                self._prune()
            failures = self._failures[client] = deque(maxlen=self.limit)
        failures.append(self.clock())

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        oldest = self.clock() - self.window
        while failures and failures[0] <= oldest:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def _prune(self) -> None:
        oldest = self.clock() - self.window
        for client in [c for c, f in self._failures.items() if not f or f[-1] <= oldest]:
            del self._failures[client]
        while len(self._failures) >= self.max_clients:  # all recent: forget the longest-known
            del self._failures[next(iter(self._failures))]
