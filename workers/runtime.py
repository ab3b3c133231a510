"""A worker process's runtime: the parts a drain job needs, built once.

The arq job function :func:`drain_session` finds it in arq's ``ctx``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from typing import Any

import httpx
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from core.config import FacioConfig
from workers import keys
from workers.approvals import ApprovalStore
from workers.bots import Bots
from workers.drain import LEASE_TTL, Drainer, Result
from workers.lease import LeaseKeeper
from workers.maintenance import run_forever
from workers.overview import leave
from workers.queue import ArqJobQueue
from workers.schedules import Clock, Scheduler, clock_from_env
from workers.stops import StopWatcher
from workers.turn import TurnRunner

CTX_KEY = "facio"
READ_TIMEOUT = 120.0


def worker_id() -> str:
    """Unique per process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerRuntime:
    def __init__(self, config: FacioConfig, pool: ArqRedis, *, clock: Clock | None = None) -> None:
        """``clock`` times the schedules (default: the real one, or the test-only
        ``FACIO_TEST_CLOCK``; workers/schedules/clock.py)."""
        self.config = config
        self.redis = pool
        self.queue = ArqJobQueue(pool)
        self.clock = clock if clock is not None else clock_from_env()
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT, connect=10.0))
        self.bots = Bots(config, pool, self.client, clock=self.clock)
        self.scheduler = Scheduler(pool, config, self.queue, clock=self.clock)
        self.approvals = ApprovalStore(pool)
        self.pressure = asyncio.Event()
        """Every job slot taken while work waits in the queue: held approvals park."""
        self.runner = TurnRunner(pool, self.bots, self.approvals, pressure=self.pressure)
        self.worker_id = worker_id()
        self.keeper = LeaseKeeper(pool, LEASE_TTL, stamps=(keys.ACTIVE, keys.lease("")))
        self.stops = StopWatcher(pool)
        self.drainer = Drainer(
            pool, self.runner, self.worker_id, self.queue, self.keeper, self.stops
        )
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """The process's own loops: upkeep (with the worker's heartbeat), lease renewal,
        the stop sweep, the schedules' fire loop."""
        upkeep = run_forever(self.redis, self.approvals, self.queue, self.worker_id)
        self._tasks = [
            asyncio.create_task(upkeep, name="upkeep"),
            asyncio.create_task(self.keeper.run(), name="lease-keeper"),
            asyncio.create_task(self.stops.sweep_forever(), name="stop-sweep"),
            asyncio.create_task(self.scheduler.run_forever(), name="schedules"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(RedisError):  # gone anyway once its heartbeat is stale
            await leave(self.redis, self.worker_id)
        await self.bots.aclose()
        await self.client.aclose()


async def drain_session(ctx: dict[str, Any], session_key: str) -> Result:
    """The arq job: drain one session's inbox (see workers.drain)."""
    runtime: WorkerRuntime = ctx[CTX_KEY]
    return await runtime.drainer.drain(session_key, ctx["job_id"])
