"""A sign of life while a turn works ("typing…", a status line).

Platforms show their indicator for a few seconds, so it is sent again every
:attr:`~channels.chat.platform.Limits.typing_every` seconds from
``turn_started`` until ``turn_finished`` (or an error, or an approval card:
then the agent waits for the person, it is not working). Each session has at
most one beat task; a task also ends on its own after :data:`MAX_QUIET`
seconds without news of its turn, so a turn whose end was never seen cannot
type forever. Platforms whose sign of life stays until removed (a status, a
reaction) get :meth:`~channels.chat.platform.ChatPlatform.done_typing` at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from channels.chat.platform import ChatPlatform, Target

__all__ = ["MAX_QUIET", "Typing"]

MAX_QUIET = 600.0


class Typing:
    """One beat task per session."""

    def __init__(self, platform: ChatPlatform[Any], *, max_quiet: float = MAX_QUIET) -> None:
        self.platform = platform
        self.every = platform.limits.typing_every
        self.max_quiet = max_quiet
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._targets: dict[str, Target] = {}
        self._touched: dict[str, float] = {}

    def start(self, session_key: str, target: Target) -> None:
        """Show it in ``target`` until :meth:`stop` (idempotent: refreshes a running one)."""
        self._touched[session_key] = time.monotonic()
        self._targets[session_key] = target
        task = self._tasks.get(session_key)
        if task is None or task.done():
            self._tasks[session_key] = asyncio.create_task(self._beat(session_key, target))

    async def stop(self, session_key: str) -> None:
        task = self._tasks.pop(session_key, None)
        self._touched.pop(session_key, None)
        target = self._targets.pop(session_key, None)
        if task is not None:
            task.cancel()
            if target is not None:
                await self.platform.done_typing(target)

    def active(self, session_key: str) -> bool:
        task = self._tasks.get(session_key)
        return task is not None and not task.done()

    async def _beat(self, session_key: str, target: Target) -> None:
        while time.monotonic() - self._touched.get(session_key, 0.0) < self.max_quiet:
            await self.platform.typing(target)
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
