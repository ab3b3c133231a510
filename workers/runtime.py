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
from workers.approvals import ApprovalStore
from workers.bots import Bots
from workers.drain import Drainer, Result
from workers.maintenance import run_forever
from workers.outbox import Outbox
from workers.overview import leave
from workers.queue import ArqJobQueue
from workers.turn import TurnRunner

CTX_KEY = "facio"
READ_TIMEOUT = 120.0


def worker_id() -> str:
    """Unique per process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class WorkerRuntime:
    def __init__(self, config: FacioConfig, pool: ArqRedis) -> None:
        self.config = config
        self.redis = pool
        self.queue = ArqJobQueue(pool)
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT, connect=10.0))
        self.bots = Bots(config, pool, self.client)
        self.approvals = ApprovalStore(pool)
        self.outbox = Outbox(pool)
        self.runner = TurnRunner(pool, self.bots, self.approvals, self.outbox)
        self.worker_id = worker_id()
        self.drainer = Drainer(pool, self.runner, self.worker_id, queue=self.queue)
        self._upkeep: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._upkeep = asyncio.create_task(
            run_forever(self.redis, self.approvals, self.queue, self.outbox, self.worker_id)
        )

    async def stop(self) -> None:
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
            with contextlib.suppress(RedisError):  # gone anyway once its heartbeat is stale
                await leave(self.redis, self.worker_id)
        await self.bots.aclose()
        await self.client.aclose()


async def drain_session(ctx: dict[str, Any], session_key: str) -> Result:
    """The arq job: drain one session's inbox (see workers.drain)."""
    runtime: WorkerRuntime = ctx[CTX_KEY]
    return await runtime.drainer.drain(session_key, ctx["job_id"])
