"""A cell's execution clock: it runs only while no approval of the cell is pending.

``agent.executionTimeout`` counts execution, not the time a person takes to
answer. ipybox's own budget has one pause flag: the first decision restarts
the clock while a second approval may still be open, and a slow answer to
that one times the cell out. This clock counts the approvals pending and
runs only while there are none.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["ExecutionClock"]


class ExecutionClock:
    """Seconds of execution used by one cell, stopped while approvals are pending."""

    def __init__(self, limit: float | None) -> None:
        """``limit``: seconds the cell may execute (None: no limit)."""
        self.limit = limit
        self._used = 0.0
        self._since: float | None = time.monotonic()
        """When the clock last started; None while it is stopped."""
        self._pending = 0
        self._changed = asyncio.Event()

    def used(self) -> float:
        """Seconds of execution so far."""
        running = time.monotonic() - self._since if self._since is not None else 0.0
        return self._used + running

    def approval_asked(self) -> None:
        """One more approval is pending: the clock stops (if it ran)."""
        if self._since is not None:
            self._used += time.monotonic() - self._since
            self._since = None
        self._pending += 1
        self._changed.set()

    def approval_decided(self) -> None:
        """One approval less is pending: the clock runs again once none is."""
        self._pending = max(0, self._pending - 1)
        if self._pending == 0 and self._since is None:
            self._since = time.monotonic()
        self._changed.set()

    async def expired(self) -> None:
        """Return once the cell has executed for its limit (never, without one)."""
        while True:
            self._changed.clear()
            if self.limit is None or self._pending:
                await self._changed.wait()
                continue
            remaining = self.limit - self.used()
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                continue  # checked again at the top: the clock may have stopped meanwhile
