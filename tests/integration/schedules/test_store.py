"""Schedules in Redis: caps, listing, cancelling by their own session only, config jobs synced."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.integration.schedules.support import T0, chat, schedules_config
from workers.approval_record import SCHEDULER_USER
from workers.schedules import (
    ConfigScheduleError,
    InvalidScheduleError,
    ManualClock,
    Origin,
    ScheduleLimitError,
    ScheduleNotFoundError,
    ScheduleStore,
    timing_of,
)
from workers.schedules import keys as skeys

TOPIC = "telegram:-1001:topic:7"


async def _make(store: ScheduleStore, session: str = TOPIC, **when: object) -> str:
    timing = timing_of(store.config, store.clock.now(), **when or {"in_seconds": 60})  # type: ignore[arg-type]
    made = await store.create(
        session_key=session,
        prompt="Remind the person to call Ann.",
        timing=timing,
        source="agent",
        created_by="100",
        origin=Origin.of(chat(session)),
    )
    return made.record.schedule_id


async def test_a_schedule_is_stored_with_its_origin_and_listed_by_next_run(
    redis: Redis, tmp_path: Path
) -> None:
    config = schedules_config(tmp_path, timezone="Europe/Berlin")
    store = ScheduleStore(redis, config, clock=ManualClock(T0))
    later = await _make(store, cron="0 9 * * 1-5")  # 9:00 Berlin = 8:00 UTC: in 60 s
    sooner = await _make(store, in_seconds=30)
    elsewhere = await _make(store, session="api:x", every=3600)

    listed = await store.list(TOPIC)
    assert [item.record.schedule_id for item in listed] == [sooner, later]
    assert [item.next_run for item in listed] == [T0 + 30, T0 + 60]
    assert {item.record.schedule_id for item in await store.list()} == {sooner, later, elsewhere}

    record = listed[1].record
    assert record.timing.timezone == "Europe/Berlin"  # the config's default zone
    assert record.origin.reply_to["thread_id"] == "7" and record.created_by == "100"
    view = record.public(listed[1].next_run)
    assert view == {
        "schedule_id": later,
        "session_key": TOPIC,
        "prompt": "Remind the person to call Ann.",
        "cron": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "next_run": "2026-01-05T08:00:00Z",
        "created_by": "100",
        "created_at": T0,
        "source": "agent",
    }
    every = (await store.list("api:x"))[0]
    assert every.record.public(every.next_run)["every"] == 3600
    assert every.next_run == T0 + 3600


async def test_bad_requests_are_refused_with_the_reason(redis: Redis, tmp_path: Path) -> None:
    store = ScheduleStore(redis, schedules_config(tmp_path), clock=ManualClock(T0))
    cases = [
        ({"cron": "0 25 * * *"}, "Bad hour"),
        ({"cron": "0 8 * *"}, "5 fields"),
        ({"at": "2020-01-01T00:00"}, "in the past"),
        ({"at": "soon"}, "ISO 8601"),
        ({"every": 10}, "at least 60"),
        ({"in_seconds": 60, "timezone": "Moon/Base"}, "unknown time zone"),
        ({"cron": "* * * * *", "every": 60}, "exactly one"),
        ({}, "exactly one"),
    ]
    for when, reason in cases:
        with pytest.raises(InvalidScheduleError, match=reason):
            timing_of(store.config, T0, **when)  # type: ignore[arg-type]


async def test_caps_per_session_and_in_all_refuse_clearly_and_ignore_config_jobs(
    redis: Redis, tmp_path: Path
) -> None:
    jobs = [{"name": f"job{i}", "schedule": "0 8 * * *", "prompt": "p"} for i in range(3)]
    config = schedules_config(tmp_path, cron=jobs, schedules={"maxPerSession": 2, "maxTotal": 3})
    store = ScheduleStore(redis, config, clock=ManualClock(T0))
    await store.sync_config()  # three config jobs: not counted
    await _make(store)
    await _make(store)
    with pytest.raises(ScheduleLimitError, match="limit of 2 schedules"):
        await _make(store)
    await _make(store, session="api:other")
    with pytest.raises(ScheduleLimitError, match="limit of 3 schedules in all"):
        await _make(store, session="api:third")
    assert await redis.zcard(skeys.DUE) == 6


async def test_a_session_cancels_only_its_own_and_never_a_config_job(
    redis: Redis, tmp_path: Path
) -> None:
    config = schedules_config(
        tmp_path,
        cron=[{"name": "digest", "schedule": "0 8 * * *", "session": TOPIC, "prompt": "p"}],
    )
    store = ScheduleStore(redis, config, clock=ManualClock(T0))
    await store.sync_config()
    mine = await _make(store)
    theirs = await _make(store, session="telegram:555")
    with pytest.raises(ScheduleNotFoundError):
        await store.cancel(theirs, session_key=TOPIC)
    with pytest.raises(ScheduleNotFoundError):
        await store.cancel("nope", session_key=TOPIC)
    with pytest.raises(ConfigScheduleError, match=r"config\.json"):
        await store.cancel("config:digest", session_key=TOPIC)
    with pytest.raises(ConfigScheduleError):
        await store.cancel("config:digest")  # not the operator either
    cancelled = await store.cancel(mine, session_key=TOPIC)
    assert cancelled.schedule_id == mine
    assert [i.record.schedule_id for i in await store.list(TOPIC)] == ["config:digest"]
    assert not await redis.exists(skeys.record(mine))
    await store.cancel(theirs)  # the operator may cancel any
    assert await store.next_run(theirs) is None


async def test_config_jobs_sync_keeps_their_next_run_rewrites_changes_and_drops_removed(
    redis: Redis, tmp_path: Path
) -> None:
    digest = {"name": "digest", "schedule": "0 8 * * *", "prompt": "Summarize my open tasks."}
    weekly = {"name": "weekly", "schedule": "0 9 * * 1", "prompt": "p", "session": "telegram:1"}
    clock = ManualClock(T0)
    first = ScheduleStore(redis, schedules_config(tmp_path, cron=[digest, weekly]), clock=clock)
    report = await first.sync_config()
    assert report.written == ["config:digest", "config:weekly"]
    digest_record = await first.get("config:digest")
    assert digest_record is not None
    assert digest_record.session_key == "cron:digest"
    assert digest_record.origin.channel == "cron" and digest_record.origin.user_id == SCHEDULER_USER
    assert digest_record.created_by == "config" and digest_record.name == "digest"
    assert await first.next_run("config:digest") == T0 + 60

    clock.advance(3600)  # a restart an hour later (the 8:00 run is now due): kept as it was
    again = await first.sync_config()
    assert (again.written, again.removed) == ([], [])
    assert await first.next_run("config:digest") == T0 + 60

    changed = {**digest, "schedule": "30 8 * * *"}
    second = ScheduleStore(redis, schedules_config(tmp_path, cron=[changed]), clock=clock)
    report = await second.sync_config()
    assert (report.written, report.removed) == (["config:digest"], ["config:weekly"])
    assert await second.next_run("config:digest") == T0 + 60 + 86400 + 1800  # tomorrow 8:30
    assert not await redis.exists(skeys.record("config:weekly"))
    assert await redis.smembers(skeys.session("telegram:1")) == set()
    assert await redis.smembers(skeys.CONFIG) == {b"config:digest"}
