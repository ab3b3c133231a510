"""What schedules cost: 10,000 waiting schedules at rest, and how late a due run starts.

Real processes, as deployed: a ``redis-server`` (TCP loopback, AOF on), ``facio
gateway`` and one ``facio worker``; this process writes schedules straight into
Redis (``ScheduleStore``, as the API does) and reads the outbox. Figures, each
against a baseline measured in the same run:

- idle CPU of the worker and of redis-server over ``IDLE_SECONDS``, with no
  schedule and with ``N_SCHEDULES`` waiting (none due during the window);
- Redis memory per waiting schedule (``used_memory`` growth);
- due time → ``turn_started`` (the worker's ``ts`` stamp) for one-shots,
  ``PER_SECOND`` of them due each second (one session each), with the
  10,000 waiting; baseline: ``POST /api/v1/messages`` → ``turn_started``.

Run: python3 dev.py bench
 (this one alone: .venv/bin/python -m pytest -s -m bench tests/bench/test_schedules.py)
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from core.config import load_config
from tests.bench.runtime_footprint import idle_cpu
from tests.bench.runtime_support import TOKEN, Api, Stat, running, stat, wait_healthy
from tests.ports import free_port
from workers import keys
from workers.redis_server import EmbeddedRedis
from workers.schedules import Origin, ScheduleStore, Timing

pytestmark = pytest.mark.bench

N_SCHEDULES = 10_000
IDLE_SECONDS = 20.0
N_DUE = 120
PER_SECOND = 6
N_POSTS = 120
LEAD = 3
"""Seconds between writing the due one-shots and the first of them."""

Report = dict[str, Any]


def _config(folder: Path, redis_url: str, port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps({"rules": [], "fallback": "pong"}))
    config = {
        "workspace": str(folder / "workspace"),
        "redis": {"url": redis_url},
        "agent": {"model": "scripted:bench.json"},
        "bots": {"main": {"model": "scripted:bench.json", "tools": []}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
        "schedules": {"maxTotal": N_SCHEDULES + N_DUE + 10, "maxPerSession": N_SCHEDULES},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


async def _waiting(store: ScheduleStore, count: int) -> None:
    """``count`` schedules that will not come due during the run: a mix of the three kinds."""
    now = store.clock.now()
    origin = Origin(channel="api")
    week = 7 * 86400
    gate = asyncio.Semaphore(64)

    async def make(i: int) -> None:
        kind = i % 3
        if kind == 0:
            timing = Timing(cron=f"{i % 60} 3 1 1 *", timezone="Europe/Berlin")
        elif kind == 1:
            timing = Timing(at=math.ceil(now) + week + i)
        else:
            timing = Timing(every=week, start=math.ceil(now) + week + i)
        async with gate:
            await store.create(
                session_key=f"api:waiting-{i % 500}",
                prompt=f"waiting {i}",
                timing=timing,
                source="api",
                created_by="api",
                origin=origin,
            )

    await asyncio.gather(*(make(i) for i in range(count)))


async def _due_latency(redis: Redis, store: ScheduleStore) -> tuple[Stat, Stat]:
    """One-shots due ``PER_SECOND`` a second → their ``turn_started`` stamps: all of them,
    and the first of each second (the scheduler's wake-up alone, no batch before it)."""
    first = math.ceil(time.time()) + LEAD
    due: dict[str, int] = {}
    for i in range(N_DUE):
        made = await store.create(
            session_key=f"api:due-{i}",
            prompt="ping",
            timing=Timing(at=first + i // PER_SECOND),
            source="api",
            created_by="api",
            origin=Origin(channel="api"),
        )
        due[made.record.schedule_id] = made.next_run
    sessions = [f"api:due-{i}" for i in range(N_DUE)]
    started = await _turn_started(redis, sessions, lambda e: e.get("schedule_id") in due, N_DUE, 60)
    late = [(due[e["schedule_id"]], float(e["ts"]) - due[e["schedule_id"]]) for e in started]
    firsts: dict[int, float] = {}
    for second, delay in late:
        firsts[second] = min(delay, firsts.get(second, delay))
    return stat([delay for _, delay in late]), stat(list(firsts.values()))


async def _post_latency(redis: Redis, api: Api) -> Stat:
    """``POST /messages`` → ``turn_started``, one new session each, spread like the dues."""
    posted: dict[str, float] = {}
    for i in range(N_POSTS):
        await asyncio.sleep(1 / PER_SECOND)
        session = f"api:post-{i}"
        posted[session] = time.time()
        await api.post(session, "ping")
    started = await _turn_started(redis, list(posted), lambda e: True, N_POSTS, 60)
    return stat([float(e["ts"]) - posted[e["session_key"]] for e in started])


async def _turn_started(
    redis: Redis, sessions: list[str], wanted: Any, count: int, timeout: float
) -> list[Any]:
    """The ``turn_started`` events of ``sessions`` (their event streams: an API session's
    events never go to a gateway's outbox) that ``wanted`` takes, once there are ``count``."""
    async with asyncio.timeout(timeout):
        while True:
            async with redis.pipeline(transaction=False) as pipe:
                for session in sessions:
                    pipe.xrange(keys.events(session))
                streams = await pipe.execute()
            events = [json.loads(f[b"data"]) for stream in streams for _, f in stream]
            found = [e for e in events if e["type"] == "turn_started" and wanted(e)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)


async def _bench(tmp: Path) -> Report:
    report: Report = {}
    server = EmbeddedRedis(tmp / "redis", appendonly=True)
    await server.start()
    port = free_port()
    path = _config(tmp / "bench", server.url, port)
    base = f"http://127.0.0.1:{port}"
    redis = Redis.from_url(server.url)
    store = ScheduleStore(redis, load_config(path))
    try:
        async with (
            running(["gateway", "--config", str(path)], tmp / "gateway.log") as gateway,
            aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            running(["worker", "--config", str(path)], tmp / "worker.log") as worker,
        ):
            await wait_healthy(base, gateway)
            api = Api(http)
            await api.post("api:warm", "ping")
            await _turn_started(redis, ["api:warm"], lambda e: True, 1, 60)
            pids = {"worker": worker.pid, "redis-server": server.pid}
            report["idle_empty"] = await idle_cpu(pids, IDLE_SECONDS)
            used = (await redis.info("memory"))["used_memory"]
            began = time.perf_counter()
            await _waiting(store, N_SCHEDULES)
            report["write_seconds"] = time.perf_counter() - began
            report["bytes_per_schedule"] = (
                (await redis.info("memory"))["used_memory"] - used
            ) / N_SCHEDULES
            await asyncio.sleep(2)  # the worker's scheduler looks at the new earliest run
            report["idle_full"] = await idle_cpu(pids, IDLE_SECONDS)
            report["post"] = await _post_latency(redis, api)
            report["due"], report["due_first"] = await _due_latency(redis, store)
    finally:
        await redis.aclose()
        await server.stop()
    return report


def _ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def _print(report: Report) -> None:
    print(f"\nSchedules: {N_SCHEDULES} waiting, written in {report['write_seconds']:.1f} s")
    print(f"Redis memory per waiting schedule: {report['bytes_per_schedule']:.0f} bytes")
    print(f"\nIdle CPU over {IDLE_SECONDS:g} s (% of one core):")
    print("| process | 0 schedules | 10,000 schedules | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, empty in report["idle_empty"].items():
        full = report["idle_full"][name]
        ratio = f"{full / empty:.2f}" if empty > 0 else "n/a"
        print(f"| {name} | {empty:.2f} % | {full:.2f} % | {ratio} |")
    post = report["post"]
    print("\nStart of a turn (worker's turn_started stamp), 10,000 schedules waiting:")
    print("| path | median | p99 | N | × baseline |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [
        ("POST /messages → turn_started (baseline)", post),
        (f"due time → turn_started ({PER_SECOND} due each second)", report["due"]),
        ("due time → turn_started, the first of each second", report["due_first"]),
    ]
    for label, figure in rows:
        print(
            f"| {label} | {_ms(figure.median)} | {_ms(figure.p99)} | {figure.n} "
            f"| {figure.median / post.median:.1f} |"
        )


def test_schedules_at_rest_and_when_due(tmp_path: Path) -> None:
    report = asyncio.run(_bench(tmp_path))
    _print(report)
    assert report["due"].n == N_DUE
