"""What the console reads from the runtime: session states, worker heartbeats, the
decided-approval index and the approvals stream."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

import workers.approvals as approvals_module
from tests.integration.runtime.support import demo_config, inbound, run_burst, send
from workers import keys
from workers.approval_record import Decision
from workers.approvals import ApprovalStore
from workers.outbox import APPROVAL_EVENTS_MAXLEN
from workers.overview import WORKER_STALE, heartbeat, leave, live_workers, session_states
from workers.worker import connect


async def _states(redis: Redis, *sessions: str) -> dict[str, str]:
    pending = await ApprovalStore(redis).pending()
    return {s.session_key: s.state for s in await session_states(redis, sessions, pending)}


async def test_a_sessions_state_comes_from_the_drain_protocols_keys(redis: Redis) -> None:
    await redis.set(keys.lease("api:run"), "w:job")
    await redis.rpush(keys.inbox("api:queued"), "{}")
    await redis.set(keys.parked("api:park"), "1")
    store = ApprovalStore(redis)
    record = store.new_record(
        session_key="api:held",
        turn_id="t",
        tool_call_id="c",
        tool_name="save_note",
        tool_args={},
        deciders=["u"],
        timeout=60,
        requested_by="u",
    )
    await store.create(record)
    await redis.set(keys.lease("api:held"), "w:job")
    states = await _states(redis, "api:run", "api:queued", "api:park", "api:idle")
    assert states == {
        "api:run": "running",
        "api:queued": "running",
        "api:park": "parked",
        "api:idle": "idle",
        "api:held": "waiting_for_approval",  # listed: it has a pending approval
    }
    assert (await store.get(record.approval_id)).requested_by == "u"  # type: ignore[union-attr]


async def test_workers_are_alive_while_their_heartbeat_is_fresh(redis: Redis) -> None:
    await heartbeat(redis, "w1")
    await redis.zadd(keys.WORKERS, {"w0": 1.0})  # last seen long ago
    assert [w for w, _ in await live_workers(redis)] == ["w1"]
    assert await redis.zscore(keys.WORKERS, "w0") is None  # dropped on the read
    await leave(redis, "w1")
    assert await live_workers(redis) == []
    assert WORKER_STALE >= 10


async def test_decided_approvals_are_indexed_newest_first_and_capped(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ApprovalStore(redis)
    monkeypatch.setattr(approvals_module, "DECIDED_INDEX_SIZE", 3)  # the script's ARGV
    ids = []
    for n in range(5):
        record = store.new_record(
            session_key=f"api:{n}",
            turn_id="t",
            tool_call_id="c",
            tool_name="x",
            tool_args={},
            deciders=["u"],
            timeout=60,
        )
        await store.create(record)
        await store.decide(record.approval_id, Decision.APPROVE, "u")
        ids.append(record.approval_id)
    decided = await store.decided(limit=10)
    assert [r.approval_id for r in decided] == ids[::-1][:3]
    assert await redis.zcard(keys.DECIDED_APPROVALS) == 3


async def test_only_approval_events_reach_the_approvals_stream(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=0)
    pool = await connect(redis_url)
    try:
        await send(pool, inbound("remember the milk", session="api:a"))
        await send(pool, inbound("hello", session="api:b"))
    finally:
        await pool.aclose()
    await run_burst(config, redis_url)
    entries = await redis.xrange(keys.APPROVAL_EVENTS)
    assert len(entries) == 1 and b"approval_request" in entries[0][1][b"data"]
    assert 0 < await redis.ttl(keys.APPROVAL_EVENTS) <= 24 * 3600
    activity = dict(await redis.zrange(keys.SESSION_ACTIVITY, 0, -1, withscores=True))
    assert set(activity) == {b"api:a", b"api:b"}
    assert APPROVAL_EVENTS_MAXLEN >= 100
