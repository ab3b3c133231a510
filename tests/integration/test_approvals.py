"""Durable approvals against a real Redis: the decide script, waiting, expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from workers import keys
from workers.approval_record import (
    ApprovalRecord,
    DecideOutcome,
    Decision,
    InvalidDecisionError,
    parse_decision,
)
from workers.approvals import RECORD_RETENTION, ApprovalStore

NESTED_ARGS: dict[str, Any] = {
    "code": "print('héllo')\nx = 1",
    "opts": {"timeout": 1.5, "retries": 0, "flags": [True, False, None], "big": 2**60},
    "empty": {},
    "list": [{"a": [1, 2, {"b": "ü€"}]}, -0.25, ""],
}


def make_record(
    store: ApprovalStore,
    *,
    deciders: tuple[str, ...] = ("u1", "u2"),
    timeout: float = 3600,
    session_key: str = "telegram:1",
    tool_args: dict[str, Any] | None = None,
    parkable: bool = True,
) -> ApprovalRecord:
    return store.new_record(
        session_key=session_key,
        turn_id="turn-1",
        tool_call_id="call-1",
        tool_name="ipybox_execute_ipython_cell",
        tool_args=tool_args if tool_args is not None else {"code": "1 + 1"},
        deciders=deciders,
        timeout=timeout,
        agent_id="sub-abcd",
        bot="main",
        parkable=parkable,
    )


@pytest.fixture
def store(redis: aioredis.Redis) -> ApprovalStore:
    return ApprovalStore(redis)


async def created(store: ApprovalStore, **kwargs: Any) -> ApprovalRecord:
    record = make_record(store, **kwargs)
    await store.create(record)
    return record


def client_like(redis: aioredis.Redis, **overrides: Any) -> aioredis.Redis:
    """Another client on the fixture's server, with some connection options changed."""
    pool = redis.connection_pool
    kwargs = {**pool.connection_kwargs, **overrides}
    return aioredis.Redis(
        connection_pool=aioredis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


async def list_items(redis: aioredis.Redis, key: str) -> list[str]:
    # redis-py types list commands for both clients (list | Awaitable); this one is async.
    items = await cast("Awaitable[list[bytes | str]]", redis.lrange(key, 0, -1))
    return [i.decode() if isinstance(i, bytes) else i for i in items]


# --- records -----------------------------------------------------------------


async def test_create_get_round_trip_keeps_tool_args_exact(store: ApprovalStore) -> None:
    record = await created(store, tool_args=NESTED_ARGS, parkable=False)

    got = await store.get(record.approval_id)

    assert got == record
    assert got is not None and got.tool_args == NESTED_ARGS
    assert isinstance(got.tool_args["opts"]["timeout"], float)
    assert got.tool_args["opts"]["big"] == 2**60
    assert got.parkable is False
    assert got.status == "pending" and got.decision is None and got.decided_by is None
    assert len(record.approval_id) == 16


async def test_get_unknown_is_none(store: ApprovalStore) -> None:
    assert await store.get("nope-nope-nope-0") is None


async def test_record_ttl_is_expires_at_plus_retention(
    store: ApprovalStore, redis: aioredis.Redis
) -> None:
    record = await created(store, timeout=60)

    ttl = await redis.pttl(keys.approval(record.approval_id))

    expected = (record.expires_at + RECORD_RETENTION - time.time()) * 1000
    assert abs(ttl - expected) < 5_000
    assert await redis.zscore(keys.PENDING_APPROVALS, record.approval_id) == record.expires_at


async def test_create_refuses_a_decided_record(store: ApprovalStore) -> None:
    record = make_record(store).model_copy(update={"status": "approved"})
    with pytest.raises(ValueError, match="pending"):
        await store.create(record)


# --- decisions -----------------------------------------------------------------


def test_parse_decision() -> None:
    assert parse_decision("approve") is Decision.APPROVE
    assert parse_decision(" Session ") is Decision.SESSION
    assert [d.granted for d in Decision] == [True, False, True, True]
    for bad in ("maybe", "", "approved", None, 1, ["approve"]):
        with pytest.raises(InvalidDecisionError, match="expected one of approve, reject"):
            parse_decision(bad)
    assert issubclass(InvalidDecisionError, ValueError)


async def test_allowed_user_approves(store: ApprovalStore, redis: aioredis.Redis) -> None:
    record = await created(store)
    before = time.time()

    result = await store.decide(record.approval_id, Decision.APPROVE, "u2")

    assert result.outcome is DecideOutcome.DECIDED and result.decided
    assert result.record is not None
    assert result.record.status == "approved"
    assert result.record.decision is Decision.APPROVE
    assert result.record.decided_by == "u2"
    assert result.record.decided_at is not None
    assert before - 1 < result.record.decided_at < time.time() + 1
    assert await store.get(record.approval_id) == result.record
    assert await redis.zscore(keys.PENDING_APPROVALS, record.approval_id) is None
    doorbell = keys.decided(record.approval_id)
    assert await list_items(redis, doorbell) == ["approve"]
    assert 0 < await redis.ttl(doorbell) <= 3600


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        (Decision.REJECT, "rejected"),
        (Decision.SESSION, "approved"),
        (Decision.ALWAYS, "approved"),
    ],
)
async def test_each_choice_sets_status_and_decision(
    store: ApprovalStore, decision: Decision, status: str
) -> None:
    record = await created(store)

    result = await store.decide(record.approval_id, decision, "u1")

    assert result.outcome is DecideOutcome.DECIDED
    assert result.record is not None
    assert result.record.status == status
    assert result.record.decision is decision


async def test_second_decision_changes_nothing(store: ApprovalStore) -> None:
    record = await created(store)
    first = await store.decide(record.approval_id, Decision.REJECT, "u1")

    second = await store.decide(record.approval_id, Decision.ALWAYS, "u2")

    assert second.outcome is DecideOutcome.ALREADY_DECIDED
    assert second.record == first.record
    assert await store.get(record.approval_id) == first.record


async def test_foreign_user_is_forbidden_and_changes_nothing(store: ApprovalStore) -> None:
    record = await created(store)

    result = await store.decide(record.approval_id, Decision.APPROVE, "stranger")

    assert result.outcome is DecideOutcome.FORBIDDEN
    assert await store.get(record.approval_id) == record
    assert [r.approval_id for r in await store.pending()] == [record.approval_id]
    later = await store.decide(record.approval_id, Decision.APPROVE, "u1")
    assert later.outcome is DecideOutcome.DECIDED


async def test_operator_decides_any_and_empty_deciders_deny_everyone_else(
    store: ApprovalStore,
) -> None:
    record = await created(store, deciders=())

    refused = await store.decide(record.approval_id, Decision.APPROVE, "u1")
    result = await store.decide(record.approval_id, Decision.SESSION, "api", operator=True)

    assert refused.outcome is DecideOutcome.FORBIDDEN
    assert result.outcome is DecideOutcome.DECIDED
    assert result.record is not None and result.record.decided_by == "api"


async def test_unknown_id_is_not_found(store: ApprovalStore) -> None:
    result = await store.decide("unknown-id-00000", Decision.APPROVE, "u1", operator=True)

    assert result.outcome is DecideOutcome.NOT_FOUND
    assert result.record is None


async def test_past_expiry_answers_expired_and_marks_it(
    store: ApprovalStore, redis: aioredis.Redis
) -> None:
    record = await created(store, timeout=-1)

    result = await store.decide(record.approval_id, Decision.APPROVE, "u1")

    assert result.outcome is DecideOutcome.EXPIRED
    assert result.record is not None and result.record.status == "expired"
    assert result.record.decision is None and result.record.decided_by is None
    assert await redis.zscore(keys.PENDING_APPROVALS, record.approval_id) is None
    again = await store.decide(record.approval_id, Decision.REJECT, "u1", operator=True)
    assert again.outcome is DecideOutcome.EXPIRED


async def test_expiry_by_the_clock(store: ApprovalStore) -> None:
    record = await created(store, timeout=0.3)
    await asyncio.sleep(0.4)

    result = await store.decide(record.approval_id, Decision.APPROVE, "u1")

    assert result.outcome is DecideOutcome.EXPIRED


async def test_fifty_concurrent_decisions_have_one_winner(store: ApprovalStore) -> None:
    users = tuple(f"user-{i}" for i in range(50))
    record = await created(store, deciders=users)
    choices = list(Decision)

    results = await asyncio.gather(
        *(
            store.decide(record.approval_id, choices[i % len(choices)], user)
            for i, user in enumerate(users)
        )
    )

    winners = [r for r in results if r.outcome is DecideOutcome.DECIDED]
    assert len(winners) == 1
    assert all(r.outcome is DecideOutcome.ALREADY_DECIDED for r in results if r is not winners[0])
    stored = await store.get(record.approval_id)
    assert stored == winners[0].record
    assert stored is not None and stored.decided_by is not None
    winner_index = users.index(stored.decided_by)
    assert stored.decision is choices[winner_index % len(choices)]


# --- waiting -------------------------------------------------------------------


async def test_waiters_wake_within_100ms_of_the_decision(
    store: ApprovalStore, redis: aioredis.Redis
) -> None:
    record = await created(store)
    waiters = [asyncio.create_task(store.wait(record.approval_id, 5)) for _ in range(2)]
    await asyncio.sleep(0.2)
    assert not any(w.done() for w in waiters)

    started = time.monotonic()
    await store.decide(record.approval_id, Decision.SESSION, "u1")
    woken = await asyncio.gather(*waiters)
    elapsed = time.monotonic() - started

    assert elapsed < 0.1
    for got in woken:
        assert got is not None and got.decision is Decision.SESSION
    again = await store.wait(record.approval_id, 1)
    assert again is not None and again.status == "approved"
    # Waking rotates the doorbell in place: the item and its TTL stay.
    doorbell = keys.decided(record.approval_id)
    assert len(await list_items(redis, doorbell)) == 1
    assert await redis.ttl(doorbell) > 0


async def test_wait_times_out_with_none(store: ApprovalStore) -> None:
    record = await created(store)
    started = time.monotonic()

    assert await store.wait(record.approval_id, 0.3) is None

    assert 0.25 < time.monotonic() - started < 1.0
    assert await store.wait("unknown-id-00000", 0.3) is None


async def test_wait_blocks_past_a_short_socket_timeout(redis: aioredis.Redis) -> None:
    """redis-py 5.3.1 reads blocking replies under socket_timeout; wait() slices its block."""
    client = client_like(redis, socket_timeout=1.0)
    try:
        store = ApprovalStore(client)
        idle = await created(store)
        started = time.monotonic()
        assert await store.wait(idle.approval_id, 2.0) is None
        assert time.monotonic() - started >= 1.9

        record = await created(store)
        waiter = asyncio.create_task(store.wait(record.approval_id, 3.0))
        await asyncio.sleep(1.2)
        await store.decide(record.approval_id, Decision.REJECT, "u2")
        got = await asyncio.wait_for(waiter, 0.5)
        assert got is not None and got.status == "rejected"
    finally:
        await client.aclose()


# --- listing and sweeping ------------------------------------------------------


async def test_expire_due_expires_only_due_records(store: ApprovalStore) -> None:
    due = await created(store, timeout=-1)
    fresh = await created(store)
    decided = await created(store)
    await store.decide(decided.approval_id, Decision.APPROVE, "u1")
    waiter = asyncio.create_task(store.wait(due.approval_id, 5))
    await asyncio.sleep(0.05)

    expired = await store.expire_due()

    assert [r.approval_id for r in expired] == [due.approval_id]
    assert expired[0].status == "expired"
    woken = await asyncio.wait_for(waiter, 0.5)
    assert woken is not None and woken.status == "expired"
    fresh_now = await store.get(fresh.approval_id)
    assert fresh_now is not None and fresh_now.status == "pending"
    decided_now = await store.get(decided.approval_id)
    assert decided_now is not None and decided_now.status == "approved"
    assert await store.expire_due() == []


async def test_expire_if_due(store: ApprovalStore) -> None:
    due = await created(store, timeout=-1)
    fresh = await created(store)

    gone = await store.expire_if_due(due.approval_id)
    kept = await store.expire_if_due(fresh.approval_id)

    assert gone is not None and gone.status == "expired"
    assert kept == fresh
    assert await store.expire_if_due("unknown-id-00000") is None


async def test_pending_lists_only_decidable_records(
    store: ApprovalStore, redis: aioredis.Redis
) -> None:
    first = await created(store, session_key="telegram:1")
    second = await created(store, session_key="slack:T:C")
    decided = await created(store)
    await store.decide(decided.approval_id, Decision.REJECT, "u1")
    await created(store, timeout=-1)  # overdue, not swept yet
    await redis.zadd(keys.PENDING_APPROVALS, {"vanished-record0": time.time() + 60})

    everything = await store.pending()
    slack = await store.pending(session_key="slack:T:C")

    assert [r.approval_id for r in everything] == [first.approval_id, second.approval_id]
    assert slack == [second]
