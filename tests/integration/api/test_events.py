"""GET /sessions/{key}/events: SSE frames of a real turn, replay, heartbeat, disconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from redis.asyncio import Redis
from yarl import URL

from core.wire import ResponseEvent, TurnFinishedEvent
from tests.integration.api.support import (
    api_config,
    events_of,
    post_message,
    read_frames,
    running,
)
from tests.integration.runtime.support import Background, run_burst
from workers import keys
from workers.outbox import Outbox

EVENTS = "/api/v1/sessions/api:t/events"


async def test_a_turn_streams_its_events_in_order(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with (
        running(config, redis_url) as (_, client),
        client.get(EVENTS, timeout=aiohttp.ClientTimeout(total=20)) as stream,
    ):
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.headers["Cache-Control"] == "no-cache"
        async with Background(config, redis_url):
            posted = await post_message(client, "hello")
            frames = await read_frames(stream, until="turn_finished")
    assert all(set(f) == {"event", "id", "data"} for f in frames), frames
    events = events_of(frames)
    kinds = [f["event"] for f in frames]
    assert kinds == [e["type"] for e in events]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    # chunks (of a slower model) come before the step's response; an instant model's
    # last buffered chunks are left out: the response carries their text
    assert all(i < kinds.index("response") for i, k in enumerate(kinds) if k == "response_chunk")
    assert {e["turn_id"] for e in events} == {posted["turn_id"]}
    assert {e["session_key"] for e in events} == {"api:t"}
    response = next(e for e in events if e["type"] == "response")
    assert response["content"].startswith("Hi!")
    stored = await redis.xrange(keys.events("api:t"))
    assert [f["id"] for f in frames] == [entry_id.decode() for entry_id, _ in stored]


async def test_last_event_id_replays_what_came_after_it(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path)
    async with running(config, redis_url) as (_, client):
        await post_message(client, "hello")
        await run_burst(config, redis_url)
        stored = await redis.xrange(keys.events("api:t"))
        ids = [entry_id.decode() for entry_id, _ in stored]
        after = ids[1]
        async with client.get(EVENTS, headers={"Last-Event-ID": after}) as stream:
            frames = await read_frames(stream, until="turn_finished")
        assert [f["id"] for f in frames] == ids[2:]
        # the query form, and a percent-encoded session key
        url = URL(f"/api/v1/sessions/api%3At/events?last_event_id={ids[0]}", encoded=True)
        async with client.get(url) as stream:
            frames = await read_frames(stream, until="turn_finished")
        assert [f["id"] for f in frames] == ids[1:]
        async with client.get(EVENTS, headers={"Last-Event-ID": "0"}) as stream:
            frames = await read_frames(stream, until="turn_finished")
        assert [f["id"] for f in frames] == ids
        async with client.get(EVENTS, headers={"Last-Event-ID": "nope"}) as response:
            assert response.status == 422
        # digits, but past what a stream id holds (64 bits): Redis would refuse
        # it only after the 200, and the client would reconnect with it forever
        for beyond in ("99999999999999999999", "1-18446744073709551616"):
            async with client.get(EVENTS, headers={"Last-Event-ID": beyond}) as response:
                assert response.status == 422, beyond


async def test_without_last_event_id_only_new_events_are_sent(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    outbox = Outbox(redis)
    old = ResponseEvent(session_key="api:t", turn_id="old", content="old")
    await outbox.publish(old)
    async with (
        running(api_config(tmp_path), redis_url, sse_heartbeat=0.2) as (_, client),
        client.get(EVENTS) as stream,
    ):
        # published after the headers arrived, before any read: must not be lost
        await outbox.publish(ResponseEvent(session_key="api:t", turn_id="new", content="a\nb"))
        await outbox.publish(TurnFinishedEvent(session_key="api:t", turn_id="new"))
        frames = await read_frames(stream, until="turn_finished")
        # then nothing for a while: heartbeats
        pings = await read_frames(stream, until=None, limit=2)
    events = events_of(frames)
    assert [e["turn_id"] for e in events] == ["new", "new"]
    assert events[0]["content"] == "a\nb"
    assert pings == [{":": "ping"}, {":": "ping"}]


async def test_a_client_that_leaves_frees_the_stream_and_shutdown_ends_streams(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    async with running(api_config(tmp_path), redis_url) as (gateway, client):
        stream = await client.get(EVENTS)
        assert stream.status == 200
        await _blocked_readers(redis, 1)  # the stream waits in XREAD BLOCK
        stream.close()  # the client hangs up: the read ends with it
        await _blocked_readers(redis, 0)
        # a stream still open when the gateway stops ends cleanly and promptly
        stream = await client.get(EVENTS)
        await _blocked_readers(redis, 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await gateway.stop()
        assert loop.time() - started < 2.0
        assert await stream.content.read() == b""
        stream.close()
        await _blocked_readers(redis, 0)


async def _blocked_readers(redis: Redis, expected: int) -> None:
    """Wait until ``expected`` clients block in XREAD (SSE streams; the gateway's
    outbox consumer blocks in XREADGROUP and is not counted)."""
    for _ in range(200):
        clients = await redis.client_list()
        blocked = [c for c in clients if c.get("cmd") == "xread" and "b" in c.get("flags", "")]
        if len(blocked) == expected:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"blocked clients never became {expected}")
