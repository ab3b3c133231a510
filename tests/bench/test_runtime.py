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
  holding the approval (approvalHold 120) and after it parked (approvalHold 0);
- sustained turns/s and most turns in flight at once on one worker whose
  model waits 50 ms per answer (``--max-jobs`` 10 and 50), posted while it
  runs (live) and queued while it is paused (backlog), with the CPU per turn
  of the worker and the gateway;
- idle CPU of a worker, the gateway and Redis over ``IDLE_SECONDS``;
- memory per idle session: Redis (``INFO``/``MEMORY USAGE`` by key family)
  and the worker's RSS growth per session touched.

Run: python3 dev.py bench
 (this one alone: .venv/bin/python -m pytest -s -m bench tests/bench/test_runtime.py)
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import defaultdict
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
    FacioProcess,
    Stat,
    max_in_flight,
    running,
    stat,
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
LOAD_TURNS = 400
LOAD_MAX_JOBS = (10, 50)
LOAD_ROUNDS = 3

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


async def turn_start_via_api(api: Api, n: int) -> tuple[Stat, Stat]:
    """POST → turn_started: (worker stamp, SSE client), one new session per probe."""
    stamped, received = [], []
    for i in range(n):
        session = f"api:start-{i}"
        async with api.events(session) as stream:
            await asyncio.sleep(random.uniform(0, 0.05))  # arrivals spread over the poll cycle
            start = time.time()
            await api.post(session, "ping")
            seen = await stream.until("turn_started")
            stamped.append(seen.stamped - start)
            received.append(seen.received - start)
            await stream.until("turn_finished")
    return stat(stamped), stat(received)


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


# ---------------------------------------------------------------- throughput


async def _outbox_tail(redis: Redis) -> str:
    newest = await redis.xrevrange(keys.OUTBOX, count=1)
    return newest[0][0].decode() if newest else "0-0"


async def _post_load(api: Api, tag: str) -> None:
    """LOAD_TURNS messages on as many new sessions, 32 requests at a time."""
    gate = asyncio.Semaphore(32)

    async def post(i: int) -> None:
        async with gate:
            await api.post(f"api:{tag}-{i}", f"load {i}")

    await asyncio.gather(*(post(i) for i in range(LOAD_TURNS)))


async def _spans(redis: Redis, after: str) -> list[tuple[float, float]]:
    """(turn_started, turn_finished) stamps of the next LOAD_TURNS turns in the outbox."""
    spans: dict[str, dict[str, float]] = defaultdict(dict)
    async with asyncio.timeout(300):
        while sum("turn_finished" in s for s in spans.values()) < LOAD_TURNS:
            await asyncio.sleep(0.2)
            for entry_id, fields in await redis.xrange(keys.OUTBOX, min=f"({after}"):
                after = entry_id.decode()
                event = json.loads(fields[b"data"])
                if event["type"] in ("turn_started", "turn_finished"):
                    spans[event["turn_id"]][event["type"]] = float(event["ts"])
    return [(s["turn_started"], s["turn_finished"]) for s in spans.values()]


def _load_figures(pairs: list[tuple[float, float]], cpu: float, gateway_cpu: float) -> Report:
    """Throughput over first start → last finish; CPU per turn of the worker and the gateway."""
    wall = max(e for _, e in pairs) - min(s for s, _ in pairs)
    return {
        "turns": len(pairs),
        "turns_per_s": len(pairs) / wall,
        "max_in_flight": max_in_flight(pairs),
        "durations": [e - s for s, e in pairs],
        "cpu_ms_per_turn": cpu / len(pairs) * 1000,
        "gateway_cpu_ms_per_turn": gateway_cpu / len(pairs) * 1000,
    }


def _median_round(rounds: list[Report]) -> Report:
    """Per figure, the median over the rounds (the most in flight: the highest)."""
    merged = {
        name: statistics.median(r[name] for r in rounds)
        for name in ("turns_per_s", "cpu_ms_per_turn", "gateway_cpu_ms_per_turn")
    }
    return {
        **merged,
        "turns": sum(r["turns"] for r in rounds),
        "rounds": len(rounds),
        "max_in_flight": max(r["max_in_flight"] for r in rounds),
        "turn": stat([d for r in rounds for d in r["durations"]]),
    }


async def sustained(
    api: Api, redis: Redis, worker: FacioProcess, gateway: FacioProcess, tag: str
) -> dict[str, Report]:
    """LOAD_TURNS turns on new sessions, the model waiting 50 ms each, two ways.

    ``live``: posted (32 requests at a time) while the worker runs, so the
    gateway's intake competes for the CPU. ``backlog``: posted while the
    worker is paused (SIGSTOP), then drained: the worker's own capacity.
    """
    after = await _outbox_tail(redis)
    cpu, gateway_cpu = worker.cpu_seconds(), gateway.cpu_seconds()
    posting = asyncio.create_task(_post_load(api, f"{tag}-live"))
    live = await _spans(redis, after)
    await posting
    figures = {
        "live": _load_figures(live, worker.cpu_seconds() - cpu, gateway.cpu_seconds() - gateway_cpu)
    }
    after = await _outbox_tail(redis)
    worker.pause()
    try:
        await _post_load(api, f"{tag}-backlog")
    finally:
        cpu, gateway_cpu = worker.cpu_seconds(), gateway.cpu_seconds()
        worker.resume()
    backlog = await _spans(redis, after)
    figures["backlog"] = _load_figures(
        backlog, worker.cpu_seconds() - cpu, gateway.cpu_seconds() - gateway_cpu
    )
    return figures


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
    report: Report = {"idle_seconds": IDLE_SECONDS, "load_max_jobs": LOAD_MAX_JOBS}
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
                report["start_api"] = await turn_start_via_api(api, N_TURN_START)
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
            for max_jobs in LOAD_MAX_JOBS:
                async with _worker(held, tmp, f"worker-load-{max_jobs}", max_jobs) as worker:
                    await _warm(api)
                    rounds = [
                        await sustained(api, redis, worker, gateway, f"load{max_jobs}-{r}")
                        for r in range(LOAD_ROUNDS)
                    ]
                    for mode in ("live", "backlog"):
                        report[f"load_{max_jobs}_{mode}"] = _median_round([r[mode] for r in rounds])
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
