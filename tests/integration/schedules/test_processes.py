"""Real ``facio worker`` processes on a Redis of the test's own: three racing for the same
runs fire each exactly once; a worker SIGKILLed at the due moment leaves its run to another.

The racing test speeds the schedules' clock up with the test-only ``FACIO_TEST_CLOCK``
(30×: a cron minute every two real seconds), so ``* * * * *`` runs without waiting minutes.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.config import load_config
from core.messages import AssistantMessage, UserMessage
from tests.integration.runtime.processes import (
    RECOVERY_BOUND,
    Processes,
    history,
    outbox_events,
    until,
    write_config,
)
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.codec import text
from workers.schedules import Origin, ScheduleStore, timing_of
from workers.schedules import keys as skeys
from workers.schedules.clock import CLOCK_ENV, ScaledClock

ECHO = [{"on": "user", "match": "(?s)(?P<said>.*)", "text": "Done: \\g<said>"}]
SLOW = [{"on": "user", "match": "^slow", "delay": 3.0, "text": "Slowly done."}]
SPEED = 30.0


async def _workers_listening(redis: Redis, count: int) -> bool:
    """``count`` workers are up: each subscribes to the wake-up channel once running."""
    subscribed = await redis.pubsub_numsub("facio:wake")
    return bool(subscribed) and int(subscribed[0][1]) >= count


async def _one_shot(store: ScheduleStore, session: str, prompt: str, delay: float) -> str:
    made = await store.create(
        session_key=session,
        prompt=prompt,
        timing=timing_of(store.config, store.clock.now(), in_seconds=delay),
        source="api",
        created_by="api",
        origin=Origin(channel="api"),
    )
    return made.record.schedule_id


async def _fired_runs(redis: Redis, schedule_id: str) -> list[int]:
    """The runs of ``schedule_id`` that were queued (their dedupe keys), in order."""
    found = await redis.keys(f"facio:seen:api:schedule:{schedule_id}:*")
    return sorted(int(text(key).rsplit(":", 1)[1]) for key in found)


async def test_three_worker_processes_fire_every_run_exactly_once(
    make_redis: MakeRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anchor = time.time()
    monkeypatch.setenv(CLOCK_ENV, f"{SPEED:g}@{anchor}")
    server = make_redis(tmp_path / "redis", appendonly=False)
    path = write_config(tmp_path, server.url, ECHO)
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        for name in ("a", "b", "c"):
            procs.worker(path, f"worker-{name}")
        await until(lambda: _workers_listening(redis, 3), "three workers", 60, procs)

        config = load_config(path)
        store = ScheduleStore(redis, config, clock=ScaledClock(SPEED, anchor))
        # 30 one-shots due at the same clock second, 2 real seconds from now, in 6 sessions
        shots = [await _one_shot(store, f"api:s{i % 6}", f"shot {i}", 2 * SPEED) for i in range(30)]
        ticking = (
            await store.create(
                session_key="api:tick",
                prompt="tick",
                timing=timing_of(config, store.clock.now(), cron="* * * * *"),
                source="api",
                created_by="api",
                origin=Origin(channel="api"),
            )
        ).record.schedule_id

        async def all_answered() -> bool:
            answers = 0
            for i in range(6):
                answers += sum(
                    isinstance(m, AssistantMessage) for m in await history(redis, f"api:s{i}")
                )
            return answers >= 30 and len(await _fired_runs(redis, ticking)) >= 4

        await until(all_answered, "30 one-shots and 4 cron runs", 60, procs)
        await store.cancel(ticking)  # no run fires after this: the fire script finds no score

        async def drained() -> bool:
            return not await redis.exists(keys.inbox("api:tick"), keys.sched("api:tick"))

        await until(drained, "the cron's queued turns to run", 60, procs)
        for process in procs.started:
            await process.stop()

        prompts: Counter[str] = Counter()
        for i in range(6):
            said = [
                m.content for m in await history(redis, f"api:s{i}") if isinstance(m, UserMessage)
            ]
            prompts.update(said)
        assert prompts == Counter(f"shot {i}" for i in range(30))  # each exactly once
        started = [e for e in await outbox_events(redis) if e["type"] == "turn_started"]
        per_schedule = Counter(e.get("schedule_id") for e in started)
        assert all(per_schedule[s] == 1 for s in shots), per_schedule
        runs = await _fired_runs(redis, ticking)
        assert per_schedule[ticking] == len(runs)  # one turn per fired run
        assert runs == list(range(runs[0], runs[0] + 60 * len(runs), 60))  # none lost between
        assert await redis.zscore(skeys.DUE, shots[0]) is None
        await redis.aclose()


async def test_a_worker_killed_at_the_due_moment_leaves_the_run_to_another_once(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    path = write_config(tmp_path, server.url, SLOW + ECHO)
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        a = procs.worker(path, "worker-a")
        await until(lambda: _workers_listening(redis, 1), "worker A", 60, procs)
        store = ScheduleStore(redis, load_config(path))
        schedule_id = await _one_shot(store, "api:due", "slow reminder", 2.0)

        async def fired() -> bool:
            return await redis.zscore(skeys.DUE, schedule_id) is None

        await until(fired, "worker A to fire the run", 10, procs)
        killed = a.kill()  # at the due moment: the run is queued, its turn barely begun
        procs.worker(path, "worker-b")

        async def finished() -> list[dict[str, object]]:
            return [
                e
                for e in await outbox_events(redis)
                if e["type"] == "turn_finished" and e["session_key"] == "api:due"
            ]

        await until(finished, "worker B to finish the turn", RECOVERY_BOUND + 15, procs)
        recovered = time.monotonic() - killed
        assert recovered < RECOVERY_BOUND, procs.logs()
        print(f"kill -9 at the due moment → the run finished on worker B in {recovered:.1f} s")
        messages = await history(redis, "api:due")
        assert [type(m) for m in messages] == [UserMessage, AssistantMessage]
        assert messages[1].content == "Slowly done."
        started = [e for e in await outbox_events(redis) if e["type"] == "turn_started"]
        assert [e["schedule_id"] for e in started] == [schedule_id]  # fired once
        assert len(await finished()) == 1
        assert await redis.llen("facio:inbox:api:due") == 0
        await redis.aclose()
