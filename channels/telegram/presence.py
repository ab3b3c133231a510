"""The "typing…" indicator while a turn works.

Telegram shows a chat action for about five seconds, so it is sent again
every :data:`EVERY` seconds from ``turn_started`` until ``turn_finished``
(or an error, or an approval card: then the agent waits for the person, it
is not typing). Each session has at most one beat task; a task also ends on
its own after :data:`MAX_QUIET` seconds without news of its turn, so a turn
whose end was never seen cannot type forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from channels.telegram.send import ChatTarget, Sender

__all__ = ["EVERY", "MAX_QUIET", "Typing"]

EVERY = 4.0
MAX_QUIET = 600.0


class Typing:
    """One typing beat task per session."""

    def __init__(self, sender: Sender, *, every: float = EVERY, max_quiet: float = MAX_QUIET):
        self.sender = sender
        self.every = every
        self.max_quiet = max_quiet
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._touched: dict[str, float] = {}

    def start(self, session_key: str, target: ChatTarget) -> None:
        """Type in ``target`` until :meth:`stop` (idempotent: refreshes a running one)."""
        self._touched[session_key] = time.monotonic()
        task = self._tasks.get(session_key)
        if task is None or task.done():
            self._tasks[session_key] = asyncio.create_task(self._beat(session_key, target))

    def stop(self, session_key: str) -> None:
        task = self._tasks.pop(session_key, None)
        self._touched.pop(session_key, None)
        if task is not None:
            task.cancel()

    def active(self, session_key: str) -> bool:
        task = self._tasks.get(session_key)
        return task is not None and not task.done()

    async def _beat(self, session_key: str, target: ChatTarget) -> None:
        while time.monotonic() - self._touched.get(session_key, 0.0) < self.max_quiet:
            await self.sender.typing(target)
            await asyncio.sleep(self.every)
        self._tasks.pop(session_key, None)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
