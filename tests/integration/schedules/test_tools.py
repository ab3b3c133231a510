"""The agent's schedule tools on a real Redis: they act on the turn's own session, keep its
origin, and tell the model plainly why a request was refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.errors import ToolError
from core.tools.tool import ToolContext
from tests.integration.schedules.support import T0, chat, schedules_config
from workers.schedules import ManualClock, ScheduleStore
from workers.schedules.tools import schedule_tools

TOPIC = "telegram:-1001:topic:7"


async def test_create_list_and_cancel_within_the_turns_session(
    redis: Redis, tmp_path: Path
) -> None:
    config = schedules_config(tmp_path, timezone="Europe/Berlin", schedules={"maxPerSession": 2})
    store = ScheduleStore(redis, config, clock=ManualClock(T0))
    tools = schedule_tools(store)
    here = ToolContext(session_key=TOPIC, origin=chat(TOPIC))
    there = ToolContext(session_key="telegram:555", origin=chat("telegram:555", user="555"))

    said = await tools["schedule_create"].call(
        {"prompt": "Remind the person to call Ann.", "at": "2026-01-06T08:00"}, here
    )
    assert said.startswith("Scheduled s") and "2026-01-06 08:00 CET" in said
    assert "It runs in this conversation." in said
    schedule_id = said.split()[1].rstrip(":")
    record = await store.get(schedule_id)
    assert record is not None
    assert (record.source, record.created_by, record.session_key) == ("agent", "100", TOPIC)
    assert record.origin.reply_to["thread_id"] == "7"

    listed = await tools["schedule_list"].call({}, here)
    assert schedule_id in listed and "call Ann" in listed
    assert await tools["schedule_list"].call({}, there) == "No schedules in this conversation."

    with pytest.raises(ToolError, match="not cancelled: no schedule"):
        await tools["schedule_cancel"].call({"schedule_id": schedule_id}, there)
    cancelled = await tools["schedule_cancel"].call({"schedule_id": schedule_id}, here)
    assert cancelled.startswith(f"Cancelled {schedule_id}")


async def test_refusals_are_tool_errors_the_model_can_read(redis: Redis, tmp_path: Path) -> None:
    config = schedules_config(tmp_path, schedules={"maxPerSession": 1})
    tools = schedule_tools(ScheduleStore(redis, config, clock=ManualClock(T0)))
    here = ToolContext(session_key=TOPIC, origin=chat(TOPIC))
    create = tools["schedule_create"]
    with pytest.raises(ToolError, match="Bad hour"):
        await create.call({"prompt": "p", "cron": "0 99 * * *"}, here)
    with pytest.raises(ToolError, match="exactly one"):
        await create.call({"prompt": "p", "cron": "* * * * *", "in_seconds": 60}, here)
    with pytest.raises(ToolError, match="at least 60 seconds"):
        await create.call({"prompt": "p", "every_seconds": 5}, here)
    await create.call({"prompt": "p", "every_seconds": 3600}, here)
    with pytest.raises(ToolError, match="limit of 1 schedules"):
        await create.call({"prompt": "p", "in_seconds": 60}, here)
    with pytest.raises(ToolError, match="facio runtime"):
        await create.call({"prompt": "p", "in_seconds": 60}, ToolContext())  # no origin
    assert set(create.parameters["properties"]) == {
        "prompt",
        "at",
        "in_seconds",
        "every_seconds",
        "cron",
        "timezone",
    }
