"""Per-key lanes: jobs of one key run one at a time, in order; keys run side by side.

The gateway needs this twice: the outbox consumer renders each session's
events in order while sessions go on in parallel (a flood wait in one chat
never delays another), and a chat platform's intake lets a slow update (a
file download) hold only its own chat. One implementation serves both:

- a key's *lane* is a queue and one task, started on its first job and ended
  when the queue runs dry;
- at most ``max_queued`` jobs wait or run across keys: :meth:`Lanes.put`
  waits for room beyond that (back-pressure on whoever reads the source);
- at most ``max_running`` jobs run at once, when set (downloads), else any
  number (renders, which mostly wait on the network).

A job's own errors are the job's business (it retries what is worth it);
anything it lets escape is logged here and the lane goes on — one poison job
must not stop its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["Background", "Job", "Lanes", "finish"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Job = Callable[[], Awaitable[None]]


async def finish(tasks: set[asyncio.Task[None]], grace: float) -> None:
    """Give ``tasks`` ``grace`` seconds, cancel what is left, wait for it."""
    pending = set(tasks)
    if not pending:
        return
    await asyncio.wait(pending, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


class Lanes(Generic[K]):
    """Lanes by key (see the module docstring); ``name`` labels tasks and log lines."""

    def __init__(
        self, name: str, *, max_queued: int = 1000, max_running: int | None = None
    ) -> None:
        self.name = name
        self._lanes: dict[K, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Semaphore(max_queued)
        self._running = asyncio.Semaphore(max_running) if max_running else None
        self._in_flight = 0

    def busy(self, key: K) -> bool:
        """Has ``key`` a lane (so a job put now waits behind others)?"""
        return key in self._lanes

    @property
    def in_flight(self) -> int:
        """Jobs put and not yet done, all keys together."""
        return self._in_flight

    async def put(self, key: K, job: Job) -> None:
        """Queue ``job`` behind ``key``'s others (starting its lane) once there is room."""
        await self._room.acquire()
        self._in_flight += 1
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.create_task(self._drive(key, lane), name=f"{self.name}-lane")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(job)

    async def _drive(self, key: K, lane: deque[Job]) -> None:
        try:
            while lane:
                try:
                    await self._run(lane[0])
                except Exception:  # the lane's boundary: one bad job must not stop the key
                    logger.exception("%s: a job of %s failed", self.name, key)
                finally:
                    lane.popleft()
                    self._in_flight -= 1
                    self._room.release()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _run(self, job: Job) -> None:
        if self._running is None:
            await job()
            return
        async with self._running:
            await job()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every job put so far is done (tests, benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._in_flight:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.name} lanes did not drain")
            await asyncio.sleep(0.01)

    async def close(self, grace: float = 2.0) -> None:
        """Let the lanes finish (for ``grace`` seconds), then cancel what is left."""
        await finish(self._tasks, grace)
        self._lanes.clear()


class Background:
    """Fire-and-forget coroutines (replies, click answers) that :meth:`close` waits for."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, grace: float = 2.0) -> None:
        await finish(self._tasks, grace)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
