"""A turn's writes: batched into one call, and refused whole once the lease is not the
turn's (a worker paused past its lease writes nothing into the session)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from core.messages import AssistantMessage, UserMessage
from core.wire import ApprovalRequestEvent, ResponseEvent, TurnStartedEvent
from workers import keys
from workers.approval_record import ApprovalRecord
from workers.approvals import ApprovalStore
from workers.turn_writes import LeaseLost, PopNext, TurnWriter

SK = "telegram:42"


async def test_history_turn_fields_and_events_land_in_one_call(redis: Redis) -> None:
    await redis.set(keys.lease(SK), "w1:job", px=15_000)
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=0)
    writer.add_messages([UserMessage(content="hi", user="u")])
    writer.set_fields(appended="1", start="0", running="w1:job")
    writer.add_event(TurnStartedEvent(session_key=SK, channel="telegram", turn_id="t1"))
    await writer.flush()  # the script is loaded into Redis on first use
    writer.add_messages([AssistantMessage(content="hello")])
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="hello"))
    writer.delete_fields("running")
    await redis.config_resetstat()
    await writer.flush()
    assert (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"] == 1
    assert await redis.llen(keys.history(SK)) == 2
    assert await redis.sismember(keys.SESSIONS, SK)  # the session's first message indexed it
    assert await redis.hgetall(keys.turn("t1")) == {b"appended": b"1", b"start": b"0"}
    assert await redis.xlen(keys.events(SK)) == 2
    assert await redis.xlen(keys.outbox_stream(SK)) == 2  # Telegram: a gateway renders it
    assert await redis.ttl(keys.events(SK)) > 0


async def test_a_write_without_the_lease_is_refused_and_writes_nothing(redis: Redis) -> None:
    await redis.set(keys.lease(SK), "w2:other-job", px=15_000)  # taken over meanwhile
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=0)
    writer.add_messages([AssistantMessage(content="too late")])
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="too late"))
    with pytest.raises(LeaseLost):
        await writer.flush()
    for key in (keys.history(SK), keys.events(SK), keys.outbox_stream(SK), keys.turn("t1")):
        assert not await redis.exists(key), key


async def test_events_of_sessions_nobody_renders_stay_out_of_the_outbox(redis: Redis) -> None:
    await redis.set(keys.lease("api:x"), "w1:job", px=15_000)
    writer = TurnWriter(redis, "api:x", "t1", "w1:job", "api", length=3)
    writer.add_event(ResponseEvent(session_key="api:x", channel="api", content="hi"))
    await writer.flush()
    assert await redis.xlen(keys.events("api:x")) == 1
    assert not await redis.exists(keys.outbox_stream("api:x"))


def _record(redis: Redis) -> ApprovalRecord:
    return ApprovalStore(redis).new_record(
        session_key=SK,
        turn_id="t1",
        tool_call_id="call-1",
        tool_name="save_note",
        tool_args={"text": "x"},
        deciders=["u"],
        timeout=3600,
    )


async def test_a_new_approval_is_stored_with_the_event_that_shows_it(redis: Redis) -> None:
    """Never one without the other: a worker killed before the write leaves neither, so no
    approval stays pending that nobody was asked and no retry will find."""
    await redis.set(keys.lease(SK), "w1:job", px=15_000)
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=2)
    record = _record(redis)
    writer.add_approval(record)
    writer.set_fields(**{"approval:call-1": record.approval_id})
    assert await ApprovalStore(redis).get(record.approval_id) is None  # nothing until the write
    writer.add_event(
        ApprovalRequestEvent(
            session_key=SK, turn_id="t1", tool_name="save_note", approval_id=record.approval_id
        )
    )
    await writer.flush()
    assert await ApprovalStore(redis).get(record.approval_id) == record
    assert [r.approval_id for r in await ApprovalStore(redis).pending()] == [record.approval_id]
    assert await redis.pttl(keys.approval(record.approval_id)) > 3600 * 1000
    assert await redis.xlen(keys.events(SK)) == 1


async def test_a_worker_without_the_lease_creates_no_approval(redis: Redis) -> None:
    await redis.set(keys.lease(SK), "w2:other-job", px=15_000)
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=2)
    record = _record(redis)
    writer.add_approval(record)
    with pytest.raises(LeaseLost):
        await writer.flush()
    assert not await redis.exists(keys.approval(record.approval_id))
    assert await redis.zcard(keys.PENDING_APPROVALS) == 0


async def test_a_resumed_parked_turn_clears_the_flag_with_its_first_write(redis: Redis) -> None:
    await redis.set(keys.parked(SK), "1")
    await redis.set(keys.lease(SK), "w2:other-job", px=15_000)
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=3)
    writer.unpark()
    with pytest.raises(LeaseLost):
        await writer.flush()
    assert await redis.exists(keys.parked(SK))  # not the lease holder: the flag stays
    await redis.set(keys.lease(SK), "w1:job", px=15_000)
    writer.unpark()
    writer.set_fields(running="w1:job")
    await writer.flush()
    assert not await redis.exists(keys.parked(SK))
    assert await redis.hget(keys.turn("t1"), "running") == b"w1:job"


async def test_a_turns_last_write_pops_it_and_reads_the_next_in_the_same_call(
    redis: Redis,
) -> None:
    await redis.set(keys.lease(SK), "w1:job", px=15_000)
    await redis.set(keys.sched(SK), "job")
    await redis.rpush(keys.inbox(SK), "turn-1", "turn-2")
    await redis.zadd(keys.ACTIVE, {SK: 1.0})
    await redis.set(keys.stop(SK), "123.0")
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=3)
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="one"))
    pop = PopNext("turn-1", "job")
    writer.pop_after(pop)
    await redis.config_resetstat()
    await writer.flush()
    assert (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"] == 1
    assert pop.sent and pop.reply == [1, b"turn-2", b"123.0"]
    assert await redis.lrange(keys.inbox(SK), 0, -1) == [b"turn-2"]
    assert await redis.xlen(keys.events(SK)) == 1
    # the last turn: the session closes with it
    pop = PopNext("turn-2", "job")
    writer.pop_after(pop)
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="two"))
    await writer.flush()
    assert pop.reply == [0]
    assert not await redis.exists(keys.inbox(SK), keys.sched(SK), keys.lease(SK))
    assert await redis.zscore(keys.ACTIVE, SK) is None


async def test_a_last_write_without_the_lease_pops_nothing(redis: Redis) -> None:
    await redis.set(keys.lease(SK), "w2:other-job", px=15_000)
    await redis.rpush(keys.inbox(SK), "turn-1")
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=3)
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="late"))
    pop = PopNext("turn-1", "job")
    writer.pop_after(pop)
    with pytest.raises(LeaseLost):
        await writer.flush()
    assert pop.reply is None
    assert await redis.lrange(keys.inbox(SK), 0, -1) == [b"turn-1"]
    assert not await redis.exists(keys.events(SK))


async def test_a_last_write_for_a_turn_not_at_the_head_pops_nothing(redis: Redis) -> None:
    await redis.set(keys.lease(SK), "w1:job", px=15_000)
    await redis.rpush(keys.inbox(SK), "turn-2")  # turn-1 left already (a paused drainer)
    writer = TurnWriter(redis, SK, "t1", "w1:job", "telegram", length=3)
    writer.add_event(ResponseEvent(session_key=SK, channel="telegram", content="again"))
    pop = PopNext("turn-1", "job")
    writer.pop_after(pop)
    await writer.flush()
    assert pop.reply == [-1]
    assert await redis.lrange(keys.inbox(SK), 0, -1) == [b"turn-2"]
