"""The fire loop on a real Redis with a manual clock: exactly once, grace, DST, cancel, restart."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.integration.schedules.support import T0, RecordingQueue, chat, schedules_config
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.inbox import TurnRequest
from workers.schedules import (
    ManualClock,
    Origin,
    Scheduler,
    ScheduleRecord,
    ScheduleStore,
    Timing,
    timing_of,
)
from workers.schedules import keys as skeys
from workers.schedules.expressions import format_time

TOPIC = "telegram:-1001:topic:7"


async def _queued(redis: Redis, session: str) -> list[TurnRequest]:
    return [
        TurnRequest.model_validate_json(r) for r in await redis.lrange(keys.inbox(session), 0, -1)
    ]


async def _one_shots(store: ScheduleStore, count: int, delay: int) -> list[str]:
    ids = []
    for i in range(count):
        made = await store.create(
            session_key=f"api:s{i % 7}",
            prompt=f"run {i}",
            timing=timing_of(store.config, store.clock.now(), in_seconds=delay),
            source="api",
            created_by="api",
            origin=Origin(channel="api"),
        )
        ids.append(made.record.schedule_id)
    return ids


async def test_a_due_run_fires_once_with_its_origin_and_moves_to_the_next(
    redis: Redis, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    queue = RecordingQueue()
    telegram = {"enabled": True, "token": "1:x", "allowFrom": ["100"], "approvers": ["@carol"]}
    config = schedules_config(tmp_path, channels={"telegram": telegram})
    scheduler = Scheduler(redis, config, queue, clock=clock)
    made = await scheduler.store.create(
        session_key=TOPIC,
        prompt="Remind the person to call Ann.",
        timing=timing_of(scheduler.config, T0, cron="* * * * *"),
        source="agent",
        created_by="100",
        origin=Origin.of(chat()),
    )
    schedule_id = made.record.schedule_id
    assert await scheduler.tick() == []  # not due yet
    clock.advance(60)
    fired = await scheduler.tick()
    assert [(f.schedule_id, f.due) for f in fired] == [(schedule_id, T0 + 60)]
    assert await scheduler.tick() == []  # the same run never twice
    assert await scheduler.store.next_run(schedule_id) == T0 + 120

    [request] = await _queued(redis, TOPIC)
    assert request.schedule_id == schedule_id and request.turn_id == fired[0].turn_id
    inbound = request.inbound
    assert (inbound.channel, inbound.user_id, inbound.text) == (
        "telegram",
        "100",
        "Remind the person to call Ann.",
    )
    assert inbound.reply_to["thread_id"] == "7"
    assert inbound.approvers == ("@carol",)  # the channel's approvers now, not when it was made
    assert inbound.event_id == f"schedule:{schedule_id}:{T0 + 60}"
    assert [session for session, _ in queue.jobs] == [TOPIC]


async def test_three_schedulers_racing_fire_every_run_exactly_once(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = schedules_config(tmp_path, schedules={"maxPerSession": 100})
    clock = ManualClock(T0)
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    queue = RecordingQueue()
    racers = [Scheduler(client, config, queue, clock=clock) for client in clients]
    try:
        ids = await _one_shots(racers[0].store, 250, 30)  # more than one batch, all due at once
        clock.advance(30)
        rounds = await asyncio.gather(*(r.tick() for r in racers for _ in range(3)))
        fired = [f.schedule_id for batch in rounds for f in batch]
        while more := [f.schedule_id for r in racers for f in await r.tick()]:
            fired += more
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(fired) == sorted(ids)  # each once, none lost
    queued = [r for i in range(7) for r in await _queued(redis, f"api:s{i}")]
    assert Counter(r.schedule_id for r in queued) == Counter(ids)
    assert len(queue.jobs) == 7  # one drain per session: the turns wait in its inbox
    assert await redis.zcard("facio:schedules:due") == 0  # one-shots are gone once fired


async def test_a_schedule_that_cannot_run_is_taken_off_without_holding_up_others(
    redis: Redis, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    scheduler = Scheduler(redis, schedules_config(tmp_path), RecordingQueue(), clock=clock)
    [good] = await _one_shots(scheduler.store, 1, 60)
    broken = ScheduleRecord(
        schedule_id="sbroken",
        session_key="api:broken",
        prompt="p",
        timing=Timing(cron="not a cron expression"),  # written around the store's checks
        source="api",
        created_by="api",
        origin=Origin(channel="api"),
    )
    await redis.set(skeys.record("sbroken"), broken.model_dump_json())
    await redis.zadd(skeys.DUE, {"sbroken": T0 + 30})
    clock.advance(60)
    assert [f.schedule_id for f in await scheduler.tick()] == [good]
    assert await redis.zscore(skeys.DUE, "sbroken") is None  # not retried every second
    assert await redis.exists(skeys.record("sbroken"))  # kept to inspect


async def test_a_cancelled_schedule_never_fires(redis: Redis, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    scheduler = Scheduler(redis, schedules_config(tmp_path), RecordingQueue(), clock=clock)
    cancelled, kept = await _one_shots(scheduler.store, 2, 10)
    await scheduler.store.cancel(cancelled)
    clock.advance(10)
    assert [f.schedule_id for f in await scheduler.tick()] == [kept]
    clock.advance(3600)
    assert await scheduler.tick() == []


async def _cron(store: ScheduleStore, session: str, cron: str) -> str:
    made = await store.create(
        session_key=session,
        prompt="tick",
        timing=timing_of(store.config, store.clock.now(), cron=cron),
        source="api",
        created_by="api",
        origin=Origin(channel="api"),
    )
    return made.record.schedule_id


async def test_downtime_shorter_than_the_grace_fires_each_schedule_once(
    redis: Redis, tmp_path: Path
) -> None:
    config = schedules_config(tmp_path, schedules={"grace": 600})
    clock = ManualClock(T0)
    scheduler = Scheduler(redis, config, RecordingQueue(), clock=clock)
    minutely = await _cron(scheduler.store, "api:minutely", "* * * * *")
    daily = await _cron(scheduler.store, "api:daily", "0 8 * * *")
    one_shot = (await _one_shots(scheduler.store, 1, 60))[0]

    clock.advance(60 + 5 * 60 + 7)  # down from before 8:00 until 8:05:07
    fired = await scheduler.tick()
    assert sorted((f.schedule_id, f.due) for f in fired) == sorted(
        [(minutely, T0 + 6 * 60), (daily, T0 + 60), (one_shot, T0 + 60)]
    )  # the minutely one fires its latest missed run only: no burst of six
    assert await scheduler.tick() == []
    assert len(await _queued(redis, "api:minutely")) == 1
    assert await scheduler.store.next_run(minutely) == T0 + 7 * 60
    assert await scheduler.store.next_run(daily) == T0 + 60 + 86400


async def test_downtime_longer_than_the_grace_skips_and_logs(
    redis: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = schedules_config(tmp_path, schedules={"grace": 600})
    clock = ManualClock(T0)
    scheduler = Scheduler(redis, config, RecordingQueue(), clock=clock)
    daily = await _cron(scheduler.store, "api:daily", "0 8 * * *")
    one_shot = (await _one_shots(scheduler.store, 1, 60))[0]

    clock.advance(60 + 601)  # down until 8:10:01: the 8:00 runs are past the grace
    assert await scheduler.tick() == []
    assert await redis.llen(keys.inbox("api:daily")) == 0
    assert await scheduler.store.get(one_shot) is None  # a one-shot too late is dropped
    assert await scheduler.store.next_run(daily) == T0 + 60 + 86400
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2 and any(daily in line and "08:00" in line for line in skipped)
    clock.set(T0 + 60 + 86400)
    assert [f.schedule_id for f in await scheduler.tick()] == [daily]


def _local(epoch: int, zone: str) -> str:
    return format_time(epoch, zone)


async def _night(redis: Redis, tmp_path: Path, start: datetime, cron: str) -> list[str]:
    """Step a manual clock through 24 hours a minute at a time; the local times fired."""
    zone = "Europe/Berlin"
    clock = ManualClock(start.timestamp())
    scheduler = Scheduler(redis, schedules_config(tmp_path), RecordingQueue(), clock=clock)
    await scheduler.store.create(
        session_key="cron:night",
        prompt="p",
        timing=timing_of(scheduler.config, clock.now(), cron=cron, timezone=zone),
        source="api",
        created_by="api",
        origin=Origin(channel="cron"),
    )
    fired: list[str] = []
    for _ in range(24 * 60):
        clock.advance(60)
        fired += [_local(f.due, zone) for f in await scheduler.tick()]
    return fired


async def test_spring_forward_a_run_in_the_skipped_hour_fires_once_at_the_jump(
    redis: Redis, tmp_path: Path
) -> None:
    start = datetime(2025, 3, 29, 20, 0, tzinfo=UTC)
    assert await _night(redis, tmp_path, start, "30 2 * * *") == ["2025-03-30 03:00 CEST"]


async def test_fall_back_a_run_in_the_repeated_hour_fires_once(
    redis: Redis, tmp_path: Path
) -> None:
    start = datetime(2025, 10, 25, 20, 0, tzinfo=UTC)
    assert await _night(redis, tmp_path, start, "30 2 * * *") == ["2025-10-26 02:30 CEST"]
    await redis.flushall()
    hourly = await _night(redis, tmp_path, start, "15 * * * *")
    at = hourly.index("2025-10-26 01:15 CEST")
    assert hourly[at : at + 4] == [  # wildcard hours follow real time: both 02:15s, an hour apart
        "2025-10-26 01:15 CEST",
        "2025-10-26 02:15 CEST",
        "2025-10-26 02:15 CET",
        "2025-10-26 03:15 CET",
    ]
    assert len(hourly) == 24


async def test_the_loop_sleeps_until_the_due_time_and_survives_a_redis_restart(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=True)
    async with server:
        redis = Redis.from_url(server.url)
        clock = ManualClock(T0)
        scheduler = Scheduler(redis, schedules_config(tmp_path), RecordingQueue(), clock=clock)
        first, second = await _one_shots(scheduler.store, 2, 60)
        await scheduler.store.cancel(second)
        later = (await _one_shots(scheduler.store, 1, 120))[0]
        loop = asyncio.create_task(scheduler.run_forever())
        try:
            await asyncio.sleep(0.2)
            assert await redis.llen(keys.inbox("api:s0")) == 0
            clock.advance(60)  # the sleeper wakes at the due time, not a poll later

            async def fired(session: str) -> bool:
                return await redis.llen(keys.inbox(session)) == 1

            await _until(lambda: fired("api:s0"))
            await server.stop()  # SIGTERM: AOF written
            clock.advance(60)  # the next run comes due while Redis is away
            await asyncio.sleep(0.3)  # the loop meets the dead Redis, logs, goes on
            await server.start()
            await _until(lambda: _has(redis, "api:s0", later))
            queued = await _queued(redis, "api:s0")  # same session: after the first turn
            assert [r.schedule_id for r in queued] == [first, later]
            assert await redis.llen(keys.inbox("api:s1")) == 0  # the cancelled one
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
            await redis.aclose()


async def _has(redis: Redis, session: str, schedule_id: str) -> bool:
    return any(r.schedule_id == schedule_id for r in await _queued(redis, session))


async def _until(check: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
