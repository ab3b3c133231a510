"""Turns through real Redis and a real arq worker: order, dedupe, events, history."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from core.messages import message_from_json
from tests.integration.runtime.support import demo_config, inbound, outbox, run_burst, send
from workers import keys
from workers.worker import connect


async def test_a_turn_runs_and_publishes_its_events(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path)
    pool = await connect(redis_url)
    submitted = await send(pool, inbound("hello"))
    assert submitted.turn_id and not submitted.duplicate
    await run_burst(config, redis_url)
    events = await outbox(redis)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    response = next(e for e in events if e["type"] == "response")
    assert response["content"].startswith("Hi!")
    assert response["turn_id"] == submitted.turn_id
    # every wire event names its session, turn and agent (DESIGN.md "Events")
    assert all(
        (e["session_key"], e["turn_id"], e["agent_id"]) == ("api:test", submitted.turn_id, "main")
        for e in events
    )
    # chunks are coalesced, and those still buffered when the step's whole answer comes
    # are not sent: the response carries them (an instant model streams none at all)
    streamed = "".join(e["content"] for e in events if e["type"] == "response_chunk")
    assert response["content"].startswith(streamed)
    assert len([k for k in kinds if k == "response_chunk"]) < 10
    history = [message_from_json(m) for m in await redis.lrange(keys.history("api:test"), 0, -1)]
    assert [m.role for m in history] == ["user", "assistant"]
    # the session is closed: nothing scheduled, nothing leased, inbox empty
    for key in (keys.sched("api:test"), keys.lease("api:test"), keys.inbox("api:test")):
        assert not await redis.exists(key)
    await pool.aclose()


async def test_turns_of_a_session_run_in_arrival_order(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    for i in range(6):
        await send(pool, inbound(f"think about item {i}"))
    await run_burst(demo_config(tmp_path), redis_url)
    history = [message_from_json(m) for m in await redis.lrange(keys.history("api:test"), 0, -1)]
    prompts = [m.content for m in history if m.role == "user"]
    assert prompts == [f"think about item {i}" for i in range(6)]
    assert [m.role for m in history] == ["user", "assistant"] * 6
    await pool.aclose()


async def test_a_redelivered_platform_event_runs_once(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    first = await send(pool, inbound("hello", event_id="evt-1"))
    again = await send(pool, inbound("hello", event_id="evt-1"))
    assert not first.duplicate and again.duplicate
    await run_burst(demo_config(tmp_path), redis_url)
    turns = [e for e in await outbox(redis) if e["type"] == "turn_started"]
    assert len(turns) == 1
    assert await redis.ttl(keys.seen("api", "evt-1")) > 600
    await pool.aclose()


async def test_an_unreadable_inbox_item_is_set_aside(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    await send(pool, inbound("hello"))
    await redis.lpush(keys.inbox("api:test"), b"{not json")
    await run_burst(demo_config(tmp_path), redis_url)
    assert await redis.lrange(keys.DEAD_LETTERS, 0, -1) == [b"{not json"]
    assert [e["type"] for e in await outbox(redis)].count("turn_finished") == 1
    await pool.aclose()
