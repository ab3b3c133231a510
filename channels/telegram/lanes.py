"""Slow updates in per-chat lanes, and background sends that are awaited on close.

Most updates take a few Redis round trips: the intake runs them inline, one
after another, and the poller (or the webhook) sees the outcome — a Redis
error leaves the update unconfirmed, so Telegram sends it again. A message
with a file is different: its download may take up to two minutes. It goes
to its chat's *lane* — a queue with one task — and the intake moves on at
once; while the lane is busy, later updates of that chat queue behind it.
So a chat keeps its order and other chats never wait for it.

Bounds: at most ``max_running`` lane jobs run at a time (the others wait for
a slot) and at most ``max_queued`` wait in lanes; beyond that, handing one
over waits — back-pressure on the poller rather than unbounded memory.

An update handed to a lane counts as handled: the poller confirms it (as
aiogram's own polling does with ``handle_as_tasks``). A Redis error in a
lane is therefore retried there, with backoff, rather than by redelivery;
the dedupe keys make the retry safe. On stop, lanes get a few seconds to
finish (:meth:`ChatLanes.close`), then are cancelled; the intake keeps a
copy of each update it hands to a lane in Redis until it is done, and
replays what is left on the next start, so a stop loses none of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from channels.telegram.errors import TelegramChannelError

__all__ = ["MAX_QUEUED", "MAX_RUNNING", "Background", "ChatLanes"]

logger = logging.getLogger(__name__)

MAX_RUNNING = 8
"""Lane jobs (file downloads) running at once."""
MAX_QUEUED = 1000
"""Updates waiting in lanes, all chats together."""
MAX_RETRY = 30.0

Job = Callable[[], Awaitable[None]]


async def _finish(tasks: set[asyncio.Task[None]], grace: float) -> None:
    """Give ``tasks`` ``grace`` seconds, cancel what is left, wait for it."""
    pending = set(tasks)
    if not pending:
        return
    await asyncio.wait(pending, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class Background:
    """Fire-and-forget coroutines (replies, click answers) that :meth:`close` waits for."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace: float = 2.0) -> None:
        await _finish(self._tasks, grace)


class ChatLanes:
    """Per-chat order, chats side by side, for the updates that take long."""

    def __init__(
        self,
        *,
        max_running: int = MAX_RUNNING,
        max_queued: int = MAX_QUEUED,
        retry_delay: float = 1.0,
    ) -> None:
        self.retry_delay = retry_delay
        self._lanes: dict[int, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = asyncio.Semaphore(max_running)
        self._room = asyncio.Semaphore(max_queued)

    def busy(self, chat_id: int) -> bool:
        """Has ``chat_id`` a lane (so its next update queues behind it)?"""
        return chat_id in self._lanes

    async def run(self, chat_id: int, job: Job) -> None:
        """Queue ``job`` in its chat's lane (started if there is none) and return at once."""
        await self._room.acquire()
        lane = self._lanes.get(chat_id)
        if lane is None:
            lane = self._lanes[chat_id] = deque()
            task = asyncio.create_task(self._drive(chat_id, lane), name=f"telegram-lane-{chat_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(job)

    async def _drive(self, chat_id: int, lane: deque[Job]) -> None:
        try:
            while lane:
                try:
                    async with self._running:
                        await self._attempt(chat_id, lane[0])
                finally:
                    lane.popleft()
                    self._room.release()
        finally:
            if self._lanes.get(chat_id) is lane:
                del self._lanes[chat_id]

    async def _attempt(self, chat_id: int, job: Job) -> None:
        """Run one job; Redis errors are retried, anything else is logged and skipped."""
        delay = self.retry_delay
        while True:
            try:
                await job()
                return
            except RedisError as exc:
                logger.warning(
                    "telegram: Redis failed on an update of chat %s (%s); retrying in %.0f s",
                    chat_id,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
            except TelegramChannelError as exc:
                logger.warning("telegram: an update of chat %s failed; skipped: %s", chat_id, exc)
                return
            except Exception:  # the lane's loop boundary: one bad update must not stop it
                logger.exception("telegram: an update of chat %s failed; skipped", chat_id)
                return

    async def close(self, grace: float = 2.0) -> None:
        """Let the lanes finish (briefly), then cancel what is left."""
        await _finish(self._tasks, grace)
