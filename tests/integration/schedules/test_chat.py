"""The chat commands' answers: ``/schedules`` lists this conversation's, ``/unschedule ID``
cancels one of them (never another conversation's, never a config job)."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from channels.runtime import RuntimeClient
from tests.integration.schedules.support import T0, chat, schedules_config
from workers.schedules import ManualClock, Origin, ScheduleStore, timing_of
from workers.schedules.chat import NO_SCHEDULES, UNSCHEDULE_USAGE, list_for_session, unschedule

TOPIC = "telegram:-1001:topic:7"


async def test_schedules_lists_ids_and_next_runs_and_unschedule_cancels_own_only(
    redis: Redis, tmp_path: Path
) -> None:
    job = {"name": "digest", "schedule": "0 9 * * 1-5", "session": TOPIC, "prompt": "Summarize."}
    config = schedules_config(tmp_path, cron=[job], timezone="Europe/Berlin")
    store = ScheduleStore(redis, config, clock=ManualClock(T0))
    assert await list_for_session(store, TOPIC) == NO_SCHEDULES
    await store.sync_config()

    async def make(session: str, **when: object) -> str:
        made = await store.create(
            session_key=session,
            prompt="Remind the person to call Ann.",
            timing=timing_of(config, T0, **when),  # type: ignore[arg-type]
            source="agent",
            created_by="100",
            origin=Origin.of(chat(session)),
        )
        return made.record.schedule_id

    reminder = await make(TOPIC, at="2026-01-06T08:00")
    elsewhere = await make("telegram:555", in_seconds=60)
    listing = await list_for_session(store, TOPIC)
    assert listing.splitlines() == [
        "Schedules here:",
        "config:digest · next 2026-01-05 09:00 CET (in 1 min) · cron '0 9 * * 1-5' "
        "(Europe/Berlin) · Summarize. (config job digest)",
        f"{reminder} · next 2026-01-06 08:00 CET (in 23 h) · once · Remind the person to call Ann.",
        "",
        "Cancel one with /unschedule ID.",
    ]
    assert elsewhere not in listing

    assert await unschedule(store, TOPIC, "", by="100") == UNSCHEDULE_USAGE
    assert "No schedule" in await unschedule(store, TOPIC, elsewhere, by="100")
    assert "config" in await unschedule(store, TOPIC, "config:digest", by="100")
    assert await unschedule(store, TOPIC, f" {reminder} ", by="100") == (
        f"Cancelled {reminder} (once at 2026-01-06 08:00 CET): it will not run again."
    )
    assert reminder not in await list_for_session(store, TOPIC)
    assert await store.next_run(elsewhere) is not None  # the other chat's is untouched


async def test_the_chat_layer_reaches_them_through_the_runtime_client(
    redis: Redis, tmp_path: Path
) -> None:
    config = schedules_config(tmp_path)
    runtime = RuntimeClient(redis)  # type: ignore[arg-type]  # arq's pool in the gateway
    made = await runtime.schedule(config, session_key=TOPIC, prompt="p", every=3600)
    listing = await runtime.schedules_text(config, TOPIC)
    assert made.record.schedule_id in listing
    reply = await runtime.unschedule(config, TOPIC, made.record.schedule_id, "100")
    assert reply.startswith(f"Cancelled {made.record.schedule_id}")
    assert await runtime.schedules_text(config, TOPIC) == NO_SCHEDULES
