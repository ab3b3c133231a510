"""What the runtime costs at rest: idle CPU per process, memory per session."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from redis.asyncio import Redis

from tests.bench.runtime_support import Api, cpu_seconds
from workers import keys

Report = dict[str, Any]


async def idle_cpu(pids: dict[str, int | None], seconds: float) -> dict[str, float]:
    """Percent of one core each process used while nothing happened for ``seconds``."""
    running = {name: pid for name, pid in pids.items() if pid is not None}
    before = {name: cpu_seconds(pid) for name, pid in running.items()}
    start = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    return {
        name: (cpu_seconds(pid) - before[name]) / elapsed * 100 for name, pid in running.items()
    }


def _family(key: bytes) -> str:
    parts = key.decode().split(":")
    return ":".join(parts[:2])


async def _families(redis: Redis) -> dict[str, int]:
    """Bytes per key family (``facio:history``, ``arq:result``, …), by MEMORY USAGE."""
    sizes: dict[str, int] = defaultdict(int)
    async for key in redis.scan_iter(count=500):
        sizes[_family(key)] += await redis.memory_usage(key, samples=0) or 0
    return dict(sizes)


async def memory_per_session(api: Api, redis: Redis, sessions: int, turns: int) -> Report:
    """``sessions`` new sessions with ``turns`` turns each: what each one costs in Redis.

    ``used_memory`` growth, and MEMORY USAGE by key family: what stays per
    session (history, event stream) and what is per turn and bounded
    (turn records, arq results, the gateway's outbox and delivery marks).
    """
    used_before = (await redis.info("memory"))["used_memory"]
    families_before = await _families(redis)
    for batch in range(0, sessions, 20):
        batch_keys = [f"api:mem-{i}" for i in range(batch, min(batch + 20, sessions))]
        for turn in range(turns):
            await asyncio.gather(*(api.post(key, f"ping {turn}") for key in batch_keys))
        async with asyncio.timeout(60):
            while await redis.exists(*(keys.sched(key) for key in batch_keys)):
                await asyncio.sleep(0.05)
    used_after = (await redis.info("memory"))["used_memory"]
    families_after = await _families(redis)
    per_family = {
        name: (families_after.get(name, 0) - families_before.get(name, 0)) / sessions
        for name in families_after
    }
    return {
        "sessions": sessions,
        "turns": turns,
        "redis_used_per_session": (used_after - used_before) / sessions,
        "families": {k: v for k, v in sorted(per_family.items()) if abs(v) >= 1},
        "history_sample": await redis.memory_usage(keys.history("api:mem-0"), samples=0),
        "events_sample": await redis.memory_usage(keys.events("api:mem-0"), samples=0),
        "history_len": await redis.llen(keys.history("api:mem-0")),  # type: ignore[misc]
        "events_len": await redis.xlen(keys.events("api:mem-0")),
    }
