"""A decision's effects land with the decision, in one script call (workers.decision_effects).

What one call of the decide script leaves in Redis is all there is: a gateway
killed right after it (or a Redis restart before the next call) must find
nothing undone — the announcement published, the rule recorded, the parked
turn scheduled — and a worker holding the approval, woken by the same call,
can publish nothing before the announcement.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.integration.runtime.support import Background, demo_config, inbound, send, wait_for
from workers import keys
from workers.approval_record import ApprovalRecord, DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decision_effects import effects_of
from workers.decisions import decide, expire_due
from workers.inbox import QUEUE_NAME
from workers.queue import ArqJobQueue
from workers.worker import connect

SESSION = "telegram:7"
"""A rendered channel: its events go to an outbox partition too."""


@pytest.fixture
async def queue(redis: Redis, redis_url: str) -> AsyncIterator[ArqJobQueue]:
    pool = await connect(redis_url)
    yield ArqJobQueue(pool)
    await pool.aclose()


async def _parked(store: ApprovalStore, redis: Redis, *, timeout: float = 3600) -> ApprovalRecord:
    record = store.new_record(
        session_key=SESSION,
        turn_id="turn-1",
        tool_call_id="call-1",
        tool_name="save_note",
        tool_args={"text": "x"},
        deciders=["u1"],
        timeout=timeout,
    )
    await store.create(record)
    await redis.set(keys.parked(SESSION), "1")
    return record


async def _entries(redis: Redis, stream: str) -> list[dict[str, Any]]:
    return [json.loads(f[b"data"]) for _id, f in await redis.xrange(stream)]


async def test_one_call_decides_announces_records_the_rule_and_resumes(
    redis: Redis, queue: ArqJobQueue
) -> None:
    store = ApprovalStore(redis)
    record = await _parked(store, redis)

    # the store's one script call, and nothing after it (a decider killed right then)
    effects = effects_of(record, Decision.SESSION, "u1", queue)
    result = await store.decide(record.approval_id, Decision.SESSION, "u1", effects=effects)

    assert result.outcome is DecideOutcome.DECIDED
    for stream in (keys.events(SESSION), keys.outbox_stream(SESSION), keys.APPROVAL_EVENTS):
        (event,) = await _entries(redis, stream)
        assert event["type"] == "approval_decided"
        assert (event["approval_id"], event["decision"], event["status"], event["decided_by"]) == (
            record.approval_id,
            "session",
            "approved",
            "u1",
        )
    assert await redis.sismember(keys.perm_session(SESSION), "save_note")  # type: ignore[misc]
    job = await redis.get(keys.sched(SESSION))
    assert job is not None and await redis.zscore(QUEUE_NAME, job) is not None
    assert await redis.zscore(keys.ACTIVE, SESSION) is not None

    # a second decision changes nothing, so it announces and schedules nothing
    again = effects_of(record, Decision.APPROVE, "u1", queue)
    late = await store.decide(record.approval_id, Decision.APPROVE, "u1", effects=again)
    assert late.outcome is DecideOutcome.ALREADY_DECIDED
    assert len(await _entries(redis, keys.events(SESSION))) == 1
    assert await redis.get(keys.sched(SESSION)) == job
    assert await redis.zcard(QUEUE_NAME) == 1


async def test_a_refused_decision_has_no_effects(redis: Redis, queue: ArqJobQueue) -> None:
    store = ApprovalStore(redis)
    record = await _parked(store, redis)

    result = await decide(store, queue, record.approval_id, Decision.ALWAYS, "stranger")

    assert result.outcome is DecideOutcome.FORBIDDEN
    assert not await redis.exists(keys.events(SESSION), keys.perm_always("main"))
    assert not await redis.exists(keys.sched(SESSION))


async def test_an_expiry_is_announced_and_resumes_in_the_same_call(
    redis: Redis, queue: ArqJobQueue
) -> None:
    store = ApprovalStore(redis)
    record = await _parked(store, redis, timeout=-1)

    (expired,) = await expire_due(store, queue)

    assert expired.approval_id == record.approval_id and expired.status == "expired"
    (event,) = await _entries(redis, keys.events(SESSION))
    assert (event["decision"], event["status"], event.get("decided_by")) == (
        "expired",
        "expired",
        None,
    )
    assert await redis.exists(keys.sched(SESSION))
    assert await expire_due(store, queue) == []  # once
    assert len(await _entries(redis, keys.events(SESSION))) == 1


async def test_the_announcement_comes_before_what_the_resumed_turn_publishes(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    """A worker holding the approval wakes with the decision and runs the tool at once:
    in every session's stream, ``approval_decided`` comes before the tool's output."""
    sessions = [f"api:held{i}" for i in range(6)]
    config = demo_config(tmp_path, approvalHold=30)
    pool = await connect(redis_url)
    async with Background(config, redis_url):
        for session in sessions:
            await send(pool, inbound("remember to water the plants", session=session))
        requests = await wait_for(redis, "approval_request", count=len(sessions))
        store, queue = ApprovalStore(pool), ArqJobQueue(pool)
        await asyncio.gather(
            *(decide(store, queue, r["approval_id"], Decision.APPROVE, "u1") for r in requests)
        )
        await wait_for(redis, "turn_finished", count=len(sessions), timeout=15)
    for session in sessions:
        kinds = [e["type"] for e in await _entries(redis, keys.events(session))]
        decided = kinds.index("approval_decided")
        assert kinds.index("tool_output") > decided, (session, kinds)
        assert kinds.count("approval_decided") == 1, (session, kinds)
    await pool.aclose()
