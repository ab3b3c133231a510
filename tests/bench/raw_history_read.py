"""The raw libraries reading histories, alone in a process of its own: redis-py's
``LRANGE`` of each whole history and pydantic parsing every item — what a
worker that keeps a history in memory cannot spend less than on its first
read. Prints the CPU milliseconds per history (median of 3 rounds).

Run by :mod:`tests.bench.cost_history`:
    python -m tests.bench.raw_history_read REDIS_URL SESSION_KEY...
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from redis.asyncio import Redis

from core.messages import message_from_json
from workers import keys

ROUNDS = 3


async def read_ms(url: str, sessions: list[str]) -> float:
    redis = Redis.from_url(url)
    try:
        await redis.ping()  # connected before the clock starts
        rounds = []
        for _ in range(ROUNDS):
            before = time.process_time()
            for session in sessions:
                items = await redis.lrange(keys.history(session), 0, -1)  # type: ignore[misc]
                parsed = [message_from_json(item) for item in items]
                assert len(parsed) == len(items) > 0
            rounds.append((time.process_time() - before) / len(sessions) * 1000)
        return statistics.median(rounds)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    print(f"{asyncio.run(read_ms(sys.argv[1], sys.argv[2:])):.4f}")
