"""A backlog drained: turns whose model takes 50 ms, beside arq jobs that sleep 50 ms.

Each round queues :data:`LOAD` turns (or jobs) while the workers are paused
(SIGSTOP), then lets them go: the throughput is what the workers themselves
manage (first start → last finish), the CPU per turn is everything the
processes used from the first POST to the last finish — workers, the gateway
(facio's intake and its event streams; arq has no such process: its jobs are
enqueued from this one) and ``redis-server``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from arq.connections import ArqRedis
from redis.asyncio import Redis

from tests.bench.cost_waiting import post_many
from tests.bench.runtime_support import Api, FacioProcess, cpu_seconds, running
from workers import keys

__all__ = ["LOAD", "Drained", "arq_workers", "drain_arq", "drain_facio", "median_drain"]

LOAD = 400
MODEL_DELAY = 0.05


@dataclass(frozen=True)
class Drained:
    turns: int
    per_s: float
    cpu_ms: dict[str, float]
    """CPU milliseconds per turn, by process kind (``worker`` summed over workers)."""

    @property
    def total_cpu_ms(self) -> float:
        return sum(self.cpu_ms.values())


def median_drain(rounds: Sequence[Drained]) -> Drained:
    kinds = rounds[0].cpu_ms
    return Drained(
        turns=sum(r.turns for r in rounds),
        per_s=statistics.median(r.per_s for r in rounds),
        cpu_ms={k: statistics.median(r.cpu_ms[k] for r in rounds) for k in kinds},
    )


class _Cpu:
    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        return {kind: sum(cpu_seconds(p) for p in pids) for kind, pids in self.pids.items()}

    def per_turn_ms(self, turns: int) -> dict[str, float]:
        now = self._now()
        return {k: (now[k] - self.start[k]) / turns * 1000 for k in now}


@contextlib.contextmanager
def _paused(workers: Sequence[FacioProcess]) -> Iterator[None]:
    for worker in workers:
        worker.pause()
    try:
        yield
    finally:
        for worker in workers:
            worker.resume()


async def _until_idle(redis: Redis, *counted: str, timeout: float = 300) -> None:
    """Until none of the sorted sets ``counted`` has members (checked every 50 ms)."""
    async with asyncio.timeout(timeout):
        while True:
            sizes = [await redis.zcard(key) for key in counted]
            if not any(sizes):
                return
            await asyncio.sleep(0.05)


async def drain_facio(
    api: Api,
    redis: Redis,
    workers: Sequence[FacioProcess],
    gateway: FacioProcess,
    redis_pid: int,
    tag: str,
) -> Drained:
    sessions = [f"api:load-{tag}-{i}" for i in range(LOAD)]
    cpu = _Cpu({"worker": [w.pid for w in workers], "gateway": [gateway.pid], "redis": [redis_pid]})
    with _paused(workers):
        await post_many(api, sessions, "load")
    await _until_idle(redis, keys.ACTIVE)
    per_turn = cpu.per_turn_ms(LOAD)
    spans = []
    for session in sessions:
        stamps = {}
        for _id, fields in await redis.xrange(keys.events(session)):
            event = json.loads(fields[b"data"])
            if event["type"] in ("turn_started", "turn_finished"):
                stamps[event["type"]] = float(event["ts"])
        spans.append((stamps["turn_started"], stamps["turn_finished"]))
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return Drained(LOAD, LOAD / wall, per_turn)


@contextlib.asynccontextmanager
async def arq_workers(
    redis: Redis, url: str, folder: Path, count: int, max_jobs: int
) -> AsyncIterator[list[FacioProcess]]:
    """``count`` plain arq workers (tests.bench.arq_baseline), each polling its queue."""
    env = {"BENCH_REDIS_URL": url, "BENCH_MAX_JOBS": str(max_jobs)}
    async with contextlib.AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(
                running(
                    ["tests.bench.arq_baseline.WorkerSettings"],
                    folder / f"arq-{count}-{max_jobs}-{i}.log",
                    module="arq",
                    env=env,
                )
            )
            for i in range(count)
        ]
        async with asyncio.timeout(60):  # each has polled once: its health-check key is there
            while not await redis.exists("arq:queue:health-check"):
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        yield workers


async def drain_arq(
    pool: ArqRedis, redis: Redis, workers: Sequence[FacioProcess], redis_pid: int
) -> Drained:
    await redis.delete(*[k async for k in redis.scan_iter(match="arq:result:*")] or ["-"])
    cpu = _Cpu({"worker": [w.pid for w in workers], "redis": [redis_pid]})
    with _paused(workers):
        jobs = [await pool.enqueue_job("wait", MODEL_DELAY) for _ in range(LOAD)]
    await _until_idle(redis, "arq:queue")
    async with asyncio.timeout(60):
        while [k async for k in redis.scan_iter(match="arq:in-progress:*")]:
            await asyncio.sleep(0.05)
    per_turn = cpu.per_turn_ms(LOAD)
    spans = []
    for job in jobs:
        assert job is not None
        info = await job.result_info()
        assert info is not None and info.success, info
        spans.append((info.start_time.timestamp(), info.finish_time.timestamp()))
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return Drained(LOAD, LOAD / wall, per_turn)
