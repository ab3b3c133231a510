"""A worker starts queued turns at once, not at arq's next poll.

Three ways a turn could wait for the poll (``poll_delay``, set to 30 s here so
that waiting for it would fail the tests): an idle worker that is not told
about a new job (the ``facio:wake`` doorbell), a job enqueued while the
worker starts (before it listens), and a full worker whose slot frees while
jobs are queued (arq refills slots only when it polls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from tests.integration.runtime.support import demo_config, inbound, send, wait_for
from workers.worker import FacioWorker, build_worker, connect

POLL = 30.0


def _config(tmp_path: Path, delay: float) -> FacioConfig:
    script = {"rules": [], "fallback": "done", "delay": delay}
    (tmp_path / "model.json").write_text(json.dumps(script))
    data = {"workspace": "ws", "bots": {"main": {"model": "scripted:model.json", "tools": []}}}
    return parse_config(data, base_dir=tmp_path, env={}, source=tmp_path / "config.json")


@contextlib.asynccontextmanager
async def _worker(config: FacioConfig, url: str, max_jobs: int) -> AsyncIterator[FacioWorker]:
    pool = await connect(url)
    worker = build_worker(config, pool, handle_signals=False, max_jobs=max_jobs, poll_delay=POLL)
    task = asyncio.create_task(worker.main())
    try:
        yield worker
    finally:
        task.cancel()
        for job in worker.tasks.values():
            job.cancel()
        await asyncio.gather(task, *worker.tasks.values(), return_exceptions=True)
        await worker.close()


async def test_an_idle_worker_is_woken_by_the_enqueue(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    async with _worker(_config(tmp_path, delay=0), redis_url, max_jobs=2):
        await send(pool, inbound("first", session="api:a"))
        await wait_for(redis, "turn_finished", timeout=POLL / 3)
        await asyncio.sleep(0.2)  # idle again, in its poll wait
        started = time.monotonic()
        await send(pool, inbound("second", session="api:b"))
        await wait_for(redis, "turn_started", count=2, timeout=POLL / 3)
        assert time.monotonic() - started < 2.0
    await pool.aclose()


async def test_a_job_enqueued_while_the_worker_starts_is_not_left_for_the_poll(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    for attempt in range(5):
        async with _worker(_config(tmp_path, delay=0), redis_url, max_jobs=2):
            await asyncio.sleep(attempt * 0.002)  # at different points of the start-up
            await send(pool, inbound("hello", session=f"api:start-{attempt}"))
            await wait_for(redis, "turn_finished", count=attempt + 1, timeout=POLL / 3)
    await pool.aclose()


async def test_a_full_worker_refills_a_slot_as_soon_as_a_job_ends(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    for i in range(6):  # queued before the worker starts: three waves of two
        await send(pool, inbound(f"turn {i}", session=f"api:s{i}"))
    started = time.monotonic()
    async with _worker(_config(tmp_path, delay=0.3), redis_url, max_jobs=2):
        await wait_for(redis, "turn_finished", count=6, timeout=POLL / 2)
        # three waves of 0.3 s, not three polls 30 s apart
        assert time.monotonic() - started < 5.0
    await pool.aclose()


async def test_closing_after_a_job_was_cancelled_mid_bookkeeping_is_clean(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    """Shutdown cancels running jobs (their turns are handed back); a job cancelled
    while arq wrote its result ends cancelled, and closing must not raise for it."""
    pool = await connect(redis_url)
    worker = build_worker(demo_config(tmp_path), pool, handle_signals=False)

    async def bookkeeping() -> None:
        await asyncio.sleep(10)

    job = asyncio.create_task(bookkeeping())
    await asyncio.sleep(0)
    job.cancel()
    worker.tasks["drain:cancelled"] = job
    await worker.close()  # arq's own close raised CancelledError here
    assert job.cancelled()
