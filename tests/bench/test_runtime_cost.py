"""What the runtime costs, beside plain arq 0.28 measured in the same run.

Real processes on one ``redis-server`` (TCP loopback, AOF on, as compose runs
it): ``facio gateway`` and ``facio worker`` subprocesses driven through the
HTTP API, then plain arq workers (:mod:`tests.bench.arq_baseline`) whose job
only waits, as long as the scripted model does. Each figure with its
baseline and the ratio:

- waiting turns: 1,000 in flight on a slow model — worker and Redis CPU (% of
  one core) vs arq holding 1,000 sleeping jobs; then 10,000 on one worker;
  a new message's start (POST → ``turn_started``) with them in flight vs
  with none in flight (and vs arq starting a job beside its 1,000);
- Redis commands per plain turn vs per plain arq job (MONITOR), and the
  worker's round trips per turn vs an arq worker's per job (counted in process);
- CPU per turn (worker + gateway + Redis) and throughput with a 50 ms model,
  one worker and two, vs arq jobs that sleep 50 ms;
- worker CPU per turn at history 0 vs 1,000 messages, and a first turn's extra CPU
  vs the raw libraries reading the same history (redis-py + pydantic).

Approval resume (held vs parked), idle CPU and memory: ``test_runtime.py``.

Run: python3 dev.py bench
 (this one alone: .venv/bin/python -m pytest -s -m bench tests/bench/test_runtime_cost.py)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

from core.config import load_config
from tests.bench import cost_waiting as waiting
from tests.bench.cost_commands import count_commands
from tests.bench.cost_history import LONG, history_cost
from tests.bench.cost_load import arq_workers, drain_arq, drain_facio, median_drain
from tests.bench.cost_report import print_cost_report
from tests.bench.cost_round_trips import arq_round_trips, facio_round_trips
from tests.bench.runtime_support import TOKEN, Api, FacioProcess, running, wait_healthy
from tests.bench.runtime_support import write_config as bench_config
from tests.ports import free_port
from workers import keys
from workers.redis_server import EmbeddedRedis
from workers.worker import connect

pytestmark = pytest.mark.bench

N_COMMANDS = 100
N_TRIPS = 400
ROUNDS = 3
N_PROBES = 100
FIRST = 1000
MOST = 10_000
MAX_JOBS = 50
WAITING_SLOTS = MOST + 1000

Report = dict[str, Any]


class _Run:
    """The Redis, the config and the clients every phase shares."""

    def __init__(self, tmp: Path, server: EmbeddedRedis) -> None:
        self.tmp = tmp
        self.server = server
        self.port = free_port()
        self.config = bench_config(tmp / "config", server.url, self.port, hold=120)
        self.redis = Redis.from_url(server.url)
        self.poller = Redis.from_url(server.url, single_connection_client=True)
        self.pool: ArqRedis | None = None
        self.plain: ArqRedis | None = None

    @property
    def redis_pid(self) -> int:
        assert self.server.pid is not None
        return self.server.pid

    async def arq_pool(self) -> ArqRedis:
        if self.pool is None:
            self.pool = await connect(self.server.url)  # facio's JSON jobs: submit()
        return self.pool

    async def plain_pool(self) -> ArqRedis:
        """An arq pool as arq's users make one (pickled jobs): the baseline's client."""
        if self.plain is None:
            self.plain = await create_pool(RedisSettings.from_dsn(self.server.url))
        return self.plain

    async def close(self) -> None:
        for client in (self.redis, self.poller, self.pool, self.plain):
            if client is not None:
                await client.aclose()

    def worker(
        self, name: str, max_jobs: int = MAX_JOBS
    ) -> contextlib.AbstractAsyncContextManager[FacioProcess]:
        args = ["worker", "--config", str(self.config), "--max-jobs", str(max_jobs)]
        return running(args, self.tmp / f"{name}.log")

    @contextlib.asynccontextmanager
    async def gateway(self) -> AsyncIterator[tuple[FacioProcess, Api]]:
        await self.redis.flushall()
        base = f"http://127.0.0.1:{self.port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            running(["gateway", "--config", str(self.config)], self.tmp / "gateway.log") as gw,
            aiohttp.ClientSession(base, headers=headers) as http,
        ):
            await wait_healthy(base, gw)
            yield gw, Api(http)


async def _warm(api: Api) -> None:
    for i in range(5):
        async with api.events(f"api:warm-{i}") as stream:
            await api.post(f"api:warm-{i}", "ping")
            await stream.until("turn_finished", timeout=60)


async def _until_active_empty(poller: Redis) -> None:
    async with asyncio.timeout(60):
        while await poller.zcard(keys.ACTIVE):
            await asyncio.sleep(0.002)


async def facio_busy(run: _Run, report: Report) -> None:
    """Commands per turn, history length, backlog drains on one worker and on two."""
    async with run.gateway() as (gateway, api), run.worker("worker-a") as a:
        await _warm(api)

        async def turns() -> None:
            for i in range(N_COMMANDS):
                await api.post(f"api:cmd-{i}", "ping")
                await _until_active_empty(run.poller)

        report["commands"] = await count_commands(run.server.url, run.poller, N_COMMANDS, turns)
        report["history"] = {
            length: await history_cost(api, run.redis, run.server.url, a, length, f"h{length}")
            for length in (0, LONG)
        }
        report["load_1"] = median_drain(
            [
                await drain_facio(api, run.redis, [a], gateway, run.redis_pid, f"one{r}")
                for r in range(ROUNDS)
            ]
        )
        async with run.worker("worker-b") as b:
            await _warm(api)
            report["load_2"] = median_drain(
                [
                    await drain_facio(api, run.redis, [a, b], gateway, run.redis_pid, f"two{r}")
                    for r in range(ROUNDS)
                ]
            )


async def facio_waiting(run: _Run, report: Report) -> None:
    """Turns in flight on a slow model: what they cost, how soon a new message starts."""
    async with (
        run.gateway() as (gateway, api),
        run.worker("worker-waiting", WAITING_SLOTS) as worker,
    ):
        await _warm(api)
        pids = {"worker": worker.pid, "redis": run.redis_pid, "gateway": gateway.pid}
        report["start_idle"] = await waiting.start_latency(api, N_PROBES, "idle")
        report["cpu_idle"] = await waiting.window_cpu(pids)
        await waiting.post_many(api, [f"api:wait-{i}" for i in range(FIRST)], waiting.SLOW)
        report["in_flight_first"] = await waiting.facio_in_flight(run.redis, FIRST)
        report["cpu_first"] = await waiting.window_cpu(pids)
        report["start_first"] = await waiting.start_latency(api, N_PROBES, "first")
        pool = await run.arq_pool()
        await waiting.submit_many(pool, [f"api:wait-{i}" for i in range(FIRST, MOST)], waiting.SLOW)
        report["in_flight_most"] = await waiting.facio_in_flight(run.redis, MOST)
        report["cpu_most"] = await waiting.window_cpu(pids, waiting.LONG_WINDOW)
        report["start_most"] = await waiting.start_latency(api, N_PROBES // 2, "most")
        report["rss_most_mb"] = worker.rss_bytes() / 2**20


async def round_trips(run: _Run, report: Report) -> None:
    """The worker's round trips per turn and arq's per job, each worker alone on Redis."""
    await run.redis.flushall()
    config = load_config(run.config)
    report["round_trips"] = await facio_round_trips(config, await run.arq_pool(), N_TRIPS)
    await run.redis.flushall()
    report["arq_round_trips"] = await arq_round_trips(await run.plain_pool(), N_TRIPS)


async def arq_baseline(run: _Run, report: Report) -> None:
    await run.redis.flushall()
    pool = await run.plain_pool()
    async with arq_workers(run.redis, run.server.url, run.tmp, 1, 10):

        async def jobs() -> None:
            for _ in range(N_COMMANDS):
                job = await pool.enqueue_job("wait", 0)
                assert job is not None
                async with asyncio.timeout(60):
                    while not await run.poller.exists(f"arq:result:{job.job_id}"):
                        await asyncio.sleep(0.002)

        report["arq_commands"] = await count_commands(run.server.url, run.poller, N_COMMANDS, jobs)
    for count in (1, 2):
        async with arq_workers(run.redis, run.server.url, run.tmp, count, MAX_JOBS) as workers:
            report[f"arq_load_{count}"] = median_drain(
                [await drain_arq(pool, run.redis, workers, run.redis_pid) for _ in range(ROUNDS)]
            )
    await run.redis.flushall()
    async with arq_workers(run.redis, run.server.url, run.tmp, 1, WAITING_SLOTS) as (worker,):
        pids = {"worker": worker.pid, "redis": run.redis_pid}
        await waiting.enqueue_sleeping(pool, FIRST, 900)
        report["arq_in_flight_first"] = await waiting.arq_in_flight(run.redis, FIRST)
        report["arq_cpu_first"] = await waiting.window_cpu(pids)
        report["arq_start_first"] = await waiting.arq_start_latency(pool, run.poller, N_PROBES)
        await waiting.enqueue_sleeping(pool, MOST - FIRST, 900)
        report["arq_in_flight_most"] = await waiting.arq_in_flight(run.redis, MOST)
        report["arq_cpu_most"] = await waiting.window_cpu(pids, waiting.LONG_WINDOW)


async def _bench(tmp: Path) -> Report:
    report: Report = {}
    server = EmbeddedRedis(tmp / "redis", appendonly=True)
    await server.start()
    run = _Run(tmp, server)
    try:
        await facio_busy(run, report)
        await facio_waiting(run, report)
        await round_trips(run, report)
        await arq_baseline(run, report)
    finally:
        await run.close()
        await server.stop()
    return report


@pytest.mark.timeout(1800)
def test_runtime_cost(tmp_path: Path) -> None:
    report = asyncio.run(_bench(tmp_path))
    print_cost_report(report)
    # Every turn and job that was asked for was in flight at once.
    assert report["in_flight_most"] >= MOST
    assert report["arq_in_flight_most"] >= MOST
    assert report["commands"].total > 0 and report["arq_commands"].total > 0
