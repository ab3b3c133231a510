"""How long published events stay in Redis: the session's replay stream expires."""

from __future__ import annotations

from redis.asyncio import Redis

from workers import keys
from workers.outbox import EVENTS_TTL, Outbox


async def test_a_sessions_event_stream_expires_a_day_after_its_last_event(redis: Redis) -> None:
    outbox = Outbox(redis)
    await outbox.publish({"type": "turn_started", "session_key": "api:x", "turn_id": "t1"})
    stream = keys.events("api:x")
    await redis.expire(stream, 60)  # time passes…
    await outbox.publish({"type": "turn_finished", "session_key": "api:x", "turn_id": "t1"})
    ttl = await redis.ttl(stream)
    assert EVENTS_TTL - 5 <= ttl <= EVENTS_TTL  # …and each event renews it
    assert await redis.xlen(stream) == 2
    # the gateway's outbox is a shared queue, trimmed by length, never expired
    assert await redis.ttl(keys.OUTBOX) == -1
