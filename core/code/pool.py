"""Kernels of one process: a few started ahead of need, one per (session, agent).

- **warm**: ``size`` kernels are kept started and unassigned. A session's
  first code action takes one (and a new one starts in the background), so
  it does not wait the seconds a kernel takes to start. When none is ready
  but one is starting, it waits for that one rather than start a second.
- **assigned**: a kernel belongs to one key ``(session_key, agent_id)``
  until it is idle for ``idle_timeout`` seconds, its key is released, room
  is needed (``max_kernels``: the least recently used idle one goes), or
  the pool closes. A subagent has its own agent id, hence its own kernel.
- A kernel is never stopped while a cell runs in it (``Kernel.lock``).

Nothing starts until :meth:`KernelPool.warm_up` (a toolset's first use) or
the first :meth:`KernelPool.lease`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.code.kernel import Kernel

__all__ = ["KernelPool", "Key"]

logger = logging.getLogger(__name__)

Key = tuple[str, str]
"""``(session_key, agent_id)``."""

START_GRACE = 15.0
"""Seconds closing the pool lets a kernel that is starting finish, to stop it cleanly."""


class KernelPool:
    """Starts, hands out and stops kernels; see the module docstring."""

    def __init__(
        self,
        start: Callable[[], Awaitable[Kernel]],
        *,
        size: int,
        max_kernels: int,
        idle_timeout: float,
    ) -> None:
        self._start = start
        self.size = size
        self.max_kernels = max_kernels
        self.idle_timeout = idle_timeout
        self._warm: list[Kernel] = []
        self._assigned: dict[Key, Kernel] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._cond = asyncio.Condition()
        self._warming = False
        self._wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._starting: asyncio.Future[Kernel] | None = None
        self._closed = False

    @property
    def warm(self) -> int:
        """Kernels started and waiting for a session."""
        return len(self._warm)

    def assigned(self, key: Key) -> Kernel | None:
        """The kernel serving ``key``, if it has one."""
        return self._assigned.get(key)

    def assigned_keys(self) -> list[Key]:
        """The keys that have a kernel now."""
        return list(self._assigned)

    def kernels(self) -> list[Kernel]:
        """Every kernel the pool holds now (waiting and assigned)."""
        return [*self._warm, *self._assigned.values()]

    def warm_up(self) -> None:
        """Start keeping ``size`` kernels ready, and stopping idle ones (idempotent)."""
        if self._tasks or self._closed:
            return
        self._tasks.append(asyncio.create_task(self._refill(), name="kernel-pool-refill"))
        if self.idle_timeout > 0:
            self._tasks.append(asyncio.create_task(self._reap(), name="kernel-pool-reaper"))
        self._wanted.set()

    @contextlib.asynccontextmanager
    async def lease(self, key: Key) -> AsyncIterator[Kernel]:
        """The kernel of ``key`` (assigned now if it has none), held for one use."""
        if self._closed:
            raise RuntimeError("the kernel pool is closed")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kernel = await self._kernel_for(key)
            async with kernel.lock:
                kernel.last_used = time.monotonic()
                try:
                    yield kernel
                finally:
                    kernel.last_used = time.monotonic()

    async def release(self, key: Key) -> None:
        """Stop ``key``'s kernel (a session reset, a finished subagent)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kernel = self._assigned.pop(key, None)
            self._locks.pop(key, None)
        if kernel is not None:
            await kernel.stop()

    async def _kernel_for(self, key: Key) -> Kernel:
        kernel = self._assigned.get(key)
        if kernel is not None and not (kernel.stopped or kernel.broken):
            return kernel
        if kernel is not None:
            del self._assigned[key]
            await kernel.stop()
        kernel = await self._take()
        self._assigned[key] = kernel
        if self._tasks:
            self._wanted.set()  # refill the warm kernel just taken
        return kernel

    async def _take(self) -> Kernel:
        """A warm kernel, the one being warmed, or else a new one."""
        async with self._cond:
            await self._cond.wait_for(lambda: bool(self._warm) or not self._warming)
            if self._warm:
                return self._warm.pop(0)
        await self._make_room()
        return await self._start()

    def _count(self) -> int:
        return len(self._warm) + len(self._assigned) + int(self._warming)

    async def _make_room(self) -> None:
        """At ``max_kernels``, stop the least recently used idle assigned kernel."""
        if self._count() < self.max_kernels:
            return
        idle = [(k.last_used, key) for key, k in self._assigned.items() if not k.lock.locked()]
        if not idle:
            logger.warning("all %d kernels are busy; starting one more", self._count())
            return
        _, key = min(idle)
        kernel = self._assigned.pop(key)
        logger.info("stopping the kernel of %s to make room", key)
        await kernel.stop()

    async def _set_warming(self, value: bool, kernel: Kernel | None = None) -> None:
        async with self._cond:
            if kernel is not None:
                self._warm.append(kernel)
            self._warming = value
            self._cond.notify_all()

    async def _refill(self) -> None:
        while not self._closed:
            await self._wanted.wait()
            self._wanted.clear()
            while len(self._warm) < self.size and self._count() < self.max_kernels:
                await self._set_warming(True)
                # a task of its own, so that closing the pool can let it finish
                # (cancelling a kernel mid-start leaves noisy tracebacks behind)
                self._starting = asyncio.ensure_future(self._start())
                try:
                    kernel = await asyncio.shield(self._starting)
                except Exception:  # the loop boundary: try again on the next lease
                    logger.warning("a kernel for the pool failed to start", exc_info=True)
                    await self._set_warming(False)
                    break
                await self._set_warming(False, kernel)

    async def _reap(self) -> None:
        interval = min(max(self.idle_timeout / 4, 0.2), 30.0)
        while not self._closed:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for key, kernel in list(self._assigned.items()):
                idle = now - kernel.last_used > self.idle_timeout
                if idle and not kernel.lock.locked() and self._assigned.get(key) is kernel:
                    del self._assigned[key]
                    lock = self._locks.get(key)
                    if lock is not None and not lock.locked():
                        del self._locks[key]  # one lock per key ever seen would add up
                    logger.info("stopping the kernel of %s: idle", key)
                    await kernel.stop()

    async def aclose(self) -> None:
        """Stop everything: background work first, then every kernel."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        kernels = self.kernels()
        starting, self._starting = self._starting, None
        if starting is not None and not starting.done():
            await asyncio.wait({starting}, timeout=START_GRACE)
            if not starting.done():
                starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        started = starting is not None and not starting.cancelled() and not starting.exception()
        if started and starting is not None and starting.result() not in kernels:
            kernels.append(starting.result())  # finished after all: stop it with the rest
        self._warm.clear()
        self._assigned.clear()
        await asyncio.gather(*(kernel.stop() for kernel in kernels))
