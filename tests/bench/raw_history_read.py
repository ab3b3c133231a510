"""The raw libraries reading histories and keeping them, alone in a process of
their own: redis-py's ``LRANGE`` of each whole history and pydantic parsing
every item, each history kept in memory as a worker keeps it (so the process
grows by them as the worker does), with the collector paced as ``facio
worker`` paces it. It is what a worker that holds histories in memory cannot
spend less than on their first read. Prints the CPU milliseconds per history.

Run by :mod:`tests.bench.cost_history` (a fresh process each round):
    python -m tests.bench.raw_history_read REDIS_URL SESSION_KEY...
"""

from __future__ import annotations

import asyncio
import sys
import time

from redis.asyncio import Redis

from core.messages import Message, message_from_json
from facio.cli.gc_pace import pace_gc
from workers import keys


async def read_ms(url: str, sessions: list[str]) -> float:
    redis = Redis.from_url(url)
    kept: list[list[Message]] = []
    try:
        await redis.ping()  # connected before the clock starts
        before = time.process_time()
        for session in sessions:
            items = await redis.lrange(keys.history(session), 0, -1)  # type: ignore[misc]
            kept.append([message_from_json(item) for item in items])
        spent = time.process_time() - before
        assert all(kept)
        return spent / len(sessions) * 1000
    finally:
        await redis.aclose()


if __name__ == "__main__":
    pace_gc()
    print(f"{asyncio.run(read_ms(sys.argv[1], sys.argv[2:])):.4f}")
