"""The distributed runtime's latency, throughput, idle cost and memory, in one run.

Real processes: a ``redis-server`` (TCP loopback, AOF on, as compose runs it),
``facio gateway`` and ``facio worker`` subprocesses; this process is only
their client, through the HTTP API (``POST /api/v1/messages``, the SSE event
stream, ``POST /api/v1/approvals/{id}``). The model is the scripted provider.

Figures (each with its N):
- inbound → turn start: POST → ``turn_started`` (the worker's ``ts`` stamp,
  and when the SSE client received it), against the baseline of the SDK in
  this process (``Facio.agent(...).stream`` → first event), plus a direct
  enqueue with and without the wake-up doorbell (arq's 0.5 s poll alone);
- approval click → resume: POST decision → ``tool_output``, with the worker
  holding the approval (approvalHold 120) and after it parked (approvalHold 0),
  parked against held as the ratio;
- idle CPU of a worker, the gateway and Redis over ``IDLE_SECONDS``;
- memory per idle session: Redis (``INFO``/``MEMORY USAGE`` by key family)
  and the worker's RSS growth per session touched.

Throughput, CPU per turn, waiting turns and Redis commands beside plain arq:
``test_runtime_cost.py``.

Run: python3 dev.py bench
 (this one alone: .venv/bin/python -m pytest -s -m bench tests/bench/test_runtime.py)
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis

from bots.sdk import Facio
from core.config import load_config
from core.inbound import Inbound
from core.sessions import MemorySessionStore
from tests.bench.runtime_footprint import idle_cpu, memory_per_session
from tests.bench.runtime_report import print_report
from tests.bench.runtime_support import (
    TOKEN,
    Api,
    Stat,
    running,
    stat,
    turn_start,
    wait_healthy,
    write_config,
)
from tests.ports import free_port
from workers import keys
from workers.inbox import DRAIN_JOB, JobQueue, submit
from workers.queue import ArqJobQueue
from workers.redis_server import EmbeddedRedis
from workers.worker import POLL_DELAY, connect

pytestmark = pytest.mark.bench

N_TURN_START = 200
N_DIRECT = 50
N_POLL_ONLY = 20
N_APPROVALS = 30
N_SDK = 200
IDLE_SECONDS = 10.0
MEMORY_SESSIONS = 200
MEMORY_TURNS = 3

Report = dict[str, Any]


# ---------------------------------------------------------------- baseline: the SDK


async def sdk_first_event(config: Path, *, memory: bool) -> Stat:
    """``Facio.agent(sk).stream(prompt)`` → first event, in this process, new sessions."""
    loaded = load_config(config)
    bot = Facio(loaded, sessions=MemorySessionStore()) if memory else Facio(loaded)
    samples = []
    async with bot:
        for i in range(N_SDK):
            start = time.perf_counter()
            first = None
            async with bot.agent(f"sdk-{memory}-{i}") as agent:
                async for _event in agent.stream("ping"):
                    first = first or time.perf_counter()
            assert first is not None
            samples.append(first - start)
    return stat(samples)


# ---------------------------------------------------------------- turn start


class _PollOnly:
    """Enqueues like :class:`ArqJobQueue` but never rings the doorbell: arq's poll alone."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    def stage(self, session_key: str, job_id: str) -> None:
        return None  # enqueued by enqueue_drain, which records it

    async def enqueue_drain(self, session_key: str, job_id: str) -> None:
        await self.pool.enqueue_job(DRAIN_JOB, session_key, _job_id=job_id)


async def turn_start_direct(api: Api, pool: ArqRedis, queue: JobQueue, n: int, tag: str) -> Stat:
    """``workers.inbox.submit`` (what the gateway calls) → turn_started, by the worker stamp."""
    samples = []
    for i in range(n):
        session = f"api:{tag}-{i}"
        async with api.events(session) as stream:
            await asyncio.sleep(random.uniform(0, POLL_DELAY))
            inbound = Inbound(channel="api", session_key=session, user_id="bench", text="ping")
            start = time.time()
            await submit(pool, inbound, queue)
            samples.append((await stream.until("turn_started")).stamped - start)
            await stream.until("turn_finished")
    return stat(samples)


# ---------------------------------------------------------------- approvals


async def _parked(redis: Redis, session: str) -> None:
    """Until the turn has parked: the job ended, nothing holds the session."""
    async with asyncio.timeout(30):
        while not (
            await redis.exists(keys.parked(session)) and not await redis.exists(keys.lease(session))
        ):
            await asyncio.sleep(0.01)


async def click_to_resume(api: Api, redis: Redis, n: int, *, parked: bool) -> tuple[Stat, Stat]:
    """POST approve → tool_output: (worker stamp, SSE client)."""
    stamped, received = [], []
    tag = "parked" if parked else "held"
    for i in range(n):
        session = f"api:{tag}-{i}"
        async with api.events(session) as stream:
            await api.post(session, f"remember item {i}")
            request = await stream.until("approval_request")
            if parked:
                await _parked(redis, session)
            else:
                await asyncio.sleep(0.1)  # the worker is in its held wait (nobody clicks faster)
            start = time.time()
            await api.decide(str(request.event["approval_id"]))
            output = await stream.until("tool_output")
            stamped.append(output.stamped - start)
            received.append(output.received - start)
            await stream.until("turn_finished")
    return stat(stamped), stat(received)


# ---------------------------------------------------------------- the run


async def _warm(api: Api, n: int = 5) -> None:
    for i in range(n):
        session = f"api:warm-{random.random()}-{i}"
        async with api.events(session) as stream:
            await api.post(session, "ping")
            await stream.until("turn_finished", timeout=60)


def _worker(config: Path, folder: Path, name: str, max_jobs: int = 10) -> Any:
    args = ["worker", "--config", str(config), "--max-jobs", str(max_jobs)]
    return running(args, folder / f"{name}.log")


async def _bench(tmp: Path) -> Report:
    report: Report = {"idle_seconds": IDLE_SECONDS}
    server = EmbeddedRedis(tmp / "redis", appendonly=True)
    await server.start()
    port = free_port()
    held = write_config(tmp / "held", server.url, port, hold=120)
    parked = write_config(tmp / "parked", server.url, port, hold=0)
    report["sdk_jsonl"] = await sdk_first_event(held, memory=False)
    report["sdk_memory"] = await sdk_first_event(held, memory=True)
    base = f"http://127.0.0.1:{port}"
    redis = Redis.from_url(server.url)
    pool = await connect(server.url)
    try:
        async with (
            running(["gateway", "--config", str(held)], tmp / "gateway.log") as gateway,
            aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        ):
            await wait_healthy(base, gateway)
            api = Api(http)
            async with _worker(held, tmp, "worker-held") as worker:
                await _warm(api)
                idle = {"worker": worker.pid, "gateway": gateway.pid, "redis-server": server.pid}
                report["idle"] = await idle_cpu(idle, IDLE_SECONDS)
                report["memory"] = await memory_per_session(
                    api, redis, MEMORY_SESSIONS, MEMORY_TURNS
                )
                # RSS per session touched: after the memory phase warmed the worker up
                rss_before = worker.rss_bytes()
                report["start_api"] = await turn_start(api, N_TURN_START, "api")
                report["start_direct"] = await turn_start_direct(
                    api, pool, ArqJobQueue(pool), N_DIRECT, "direct"
                )
                report["start_poll"] = await turn_start_direct(
                    api, pool, _PollOnly(pool), N_POLL_ONLY, "poll"
                )
                touched = N_TURN_START + N_DIRECT + N_POLL_ONLY
                report["rss"] = {
                    "per_session": (worker.rss_bytes() - rss_before) / touched,
                    "sessions": touched,
                    "mb": worker.rss_bytes() / 2**20,
                }
                report["held"] = await click_to_resume(api, redis, N_APPROVALS, parked=False)
            async with _worker(parked, tmp, "worker-parked"):
                await _warm(api)
                report["parked"] = await click_to_resume(api, redis, N_APPROVALS, parked=True)
    finally:
        await pool.aclose()
        await redis.aclose()
        await server.stop()
    return report


@pytest.mark.timeout(900)
def test_runtime(tmp_path: Path) -> None:
    report = asyncio.run(_bench(tmp_path))
    print_report(report)
    # The doorbell's point: a turn starts far sooner than arq's poll would start it…
    assert report["start_api"][0].median < 0.1
    assert report["start_api"][0].median < report["start_poll"].median / 3
    # …and a parked approval resumes as fast, without an idle worker burning CPU.
    assert report["parked"][0].median < 0.25
    assert report["idle"]["worker"] < 3.0
