"""How long published events stay in Redis: the session's replay stream expires; the
gateway's outbox keeps what is younger than the age a gateway still renders."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from core.wire import ResponseChunkEvent, TurnFinishedEvent, TurnStartedEvent
from workers import keys
from workers.outbox import EVENTS_TTL, OUTBOX_RETENTION, Outbox


async def test_a_sessions_event_stream_expires_a_day_after_its_last_event(redis: Redis) -> None:
    outbox = Outbox(redis)
    await outbox.publish(TurnStartedEvent(session_key="file:x", channel="file", turn_id="t1"))
    stream = keys.events("file:x")
    await redis.expire(stream, 60)  # time passes…
    await outbox.publish(TurnFinishedEvent(session_key="file:x", channel="file", turn_id="t1"))
    ttl = await redis.ttl(stream)
    assert EVENTS_TTL - 5 <= ttl <= EVENTS_TTL  # …and each event renews it
    assert await redis.xlen(stream) == 2
    # the gateways' outbox is a shared queue, trimmed by age, never expired
    assert await redis.ttl(keys.outbox_stream("file:x")) == -1


async def test_the_outbox_is_trimmed_by_age_not_by_count(redis: Redis) -> None:
    now_ms = int(time.time() * 1000)
    old = now_ms - int((OUTBOX_RETENTION + 60) * 1000)
    recent = now_ms - int((OUTBOX_RETENTION - 60) * 1000)
    stream = keys.outbox_stream("file:x")
    await redis.xadd(stream, {"data": "{}"}, id=f"{old}-0")
    await redis.xadd(stream, {"data": "{}"}, id=f"{recent}-0")
    outbox = Outbox(redis)
    for _ in range(12_000):  # more than any count cap would keep: nothing unread is cut
        await outbox.publish(ResponseChunkEvent(session_key="file:x", channel="file", content=""))
    ids = [entry_id for entry_id, _ in await redis.xrange(stream, count=2)]
    assert ids[0] == f"{recent}-0".encode()  # the too-old entry went, the recent one stayed
    assert await redis.xlen(stream) == 12_001
