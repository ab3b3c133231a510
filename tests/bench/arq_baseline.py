"""Plain arq 0.28, the baseline the runtime's cost is measured against.

A worker process (``python -m arq tests.bench.arq_baseline.WorkerSettings``)
whose one job does what a facio turn's model does: wait. Settings come from
the environment so the benchmark can start it like facio's worker:
``BENCH_REDIS_URL``, ``BENCH_MAX_JOBS`` (default 10), ``BENCH_POLL_DELAY``
(arq's default, 0.5 s). Everything else is arq's default (results kept an
hour, the health-check key, its retry bookkeeping).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, ClassVar

from arq.connections import RedisSettings

__all__ = ["STARTS", "WorkerSettings", "wait"]

STARTS = "bench:starts"
"""A list of ``start - enqueued`` (seconds), one per job that was asked to record it."""


async def wait(ctx: dict[str, Any], seconds: float, enqueued: float = 0.0) -> None:
    """Sleep ``seconds``; with ``enqueued`` (a ``time.time()``), record how late it started."""
    if enqueued:
        await ctx["redis"].rpush(STARTS, time.time() - enqueued)
    if seconds:
        await asyncio.sleep(seconds)


class WorkerSettings:
    functions: ClassVar = [wait]
    redis_settings = RedisSettings.from_dsn(os.environ.get("BENCH_REDIS_URL", "redis://"))
    max_jobs = int(os.environ.get("BENCH_MAX_JOBS", "10"))
    poll_delay = float(os.environ.get("BENCH_POLL_DELAY", "0.5"))
    job_timeout = 3600
