"""What a RedisSessionStore remembers of histories: only what was added is read,
a history rewritten elsewhere is read again whole, and what is remembered is
bounded by count and by weight (about the bytes the parsed messages take)."""

from __future__ import annotations

import gc
import tracemalloc

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.messages import AssistantMessage, Message, ToolCall, ToolResult, UserMessage
from tests.unit.sessions.samples import EVERY_KIND
from workers import keys
from workers.stores import RedisSessionStore, forget_session, weight


def _chat(n: int, size: int = 100) -> list[Message]:
    return [
        UserMessage(content=f"q{i} " + "w" * size)
        if i % 2 == 0
        else AssistantMessage(content=f"a{i}")
        for i in range(n)
    ]


async def _read_start(store: RedisSessionStore, redis: aioredis.Redis, sk: str) -> int:
    """Where the store's next read of ``sk`` starts (what it asks LRANGE for)."""
    async with redis.pipeline(transaction=False) as pipe:
        staged = store.stage_load(pipe, sk, 0)
        await store.finish_load(staged, await pipe.execute())
    return staged.start


async def test_only_what_was_added_is_read(redis: aioredis.Redis) -> None:
    mine, other = RedisSessionStore(redis), RedisSessionStore(redis)  # two workers
    await other.append("api:a", _chat(10))
    assert await _read_start(mine, redis, "api:a") == 0  # never seen: read whole
    await other.append("api:a", _chat(4))
    assert await _read_start(mine, redis, "api:a") == 10  # only the 4 new ones
    assert await mine.load("api:a") == _chat(10) + _chat(4)


async def test_a_history_rewritten_elsewhere_is_read_again_whole(redis: aioredis.Redis) -> None:
    mine, other = RedisSessionStore(redis), RedisSessionStore(redis)
    await other.append("api:a", _chat(6))
    assert len(await mine.load("api:a")) == 6
    await forget_session(redis, "api:a")  # /new from another process
    fresh = [UserMessage(content="start over"), AssistantMessage(content="ok")]
    await other.append("api:a", fresh * 4)  # longer than what mine remembers
    assert await mine.load("api:a") == fresh * 4
    await other.replace("api:a", fresh)
    assert await mine.load("api:a") == fresh
    assert await redis.get(keys.histver("api:a")) == b"2"


async def test_the_least_recently_used_go_beyond_the_count(redis: aioredis.Redis) -> None:
    store = RedisSessionStore(redis, cache_size=3)
    for name in "abcd":
        await store.append(f"api:{name}", _chat(2))
        await store.load(f"api:{name}")
    assert [store.version_of(f"api:{n}") for n in "abcd"] == [None, "", "", ""]
    await store.load("api:b")  # used again: now the most recent
    await store.load("api:a")
    assert [store.version_of(f"api:{n}") for n in "abcd"] == ["", "", None, ""]


async def test_the_least_recently_used_go_beyond_the_weight(redis: aioredis.Redis) -> None:
    long = _chat(40, size=1000)  # about 20 × (1,000 + 550) + 20 × 1,000 bytes
    heavy = sum(map(weight, long))
    store = RedisSessionStore(redis, cache_weight=heavy * 2 + heavy // 2)
    for name in "abc":
        await store.append(f"api:{name}", long)
        await store.load(f"api:{name}")
    assert store.version_of("api:a") is None  # three would weigh too much
    assert store.version_of("api:b") == store.version_of("api:c") == ""
    assert heavy * 2 * 0.8 <= store.remembered_weight <= heavy * 2 * 1.25
    tiny = RedisSessionStore(redis, cache_weight=1)
    await tiny.load("api:a")
    assert tiny.version_of("api:a") == ""  # the newest stays, whatever it weighs
    await tiny.load("api:b")
    assert (tiny.version_of("api:a"), tiny.version_of("api:b")) == (None, "")


async def test_a_turns_additions_are_weighed_as_they_are_kept(redis: aioredis.Redis) -> None:
    store = RedisSessionStore(redis)
    await store.append("api:a", _chat(6))
    history = await store.load("api:a")
    before = store.remembered_weight
    added = [
        AssistantMessage(tool_calls=(ToolCall(id="c1", name="run", arguments='{"x": 1}'),)),
        ToolResult(tool_call_id="c1", name="run", content="r" * 5000),
    ]
    store.remember("api:a", store.version_of("api:a") or "", history + added)
    assert store.remembered_weight == before + sum(map(weight, added))
    store.forget("api:a")
    assert store.remembered_weight == 0


def test_weight_is_about_what_parsed_messages_take() -> None:
    from core.messages import message_from_json, message_to_json

    items = [message_to_json(m).encode() for m in EVERY_KIND * 200]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parsed = [message_from_json(item) for item in items]
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    estimated = sum(map(weight, parsed))
    assert 0.6 * taken <= estimated <= 1.6 * taken, (estimated, taken)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["append", "load", "reset"])),
        max_size=25,
    )
)
async def test_the_remembered_weight_is_the_sum_of_what_is_kept(
    redis: aioredis.Redis, steps: list[tuple[str, str]]
) -> None:
    await redis.flushdb()
    writer = RedisSessionStore(redis)
    store = RedisSessionStore(redis, cache_size=2, cache_weight=20_000)
    for name, step in steps:
        sk = f"api:{name}"
        if step == "append":
            await writer.append(sk, _chat(3, size=1500))
        elif step == "reset":
            await forget_session(redis, sk)
        else:
            assert await store.load(sk) == await writer.load(sk)
        kept = [store._cache[k] for k in store._cache]
        assert store.remembered_weight == sum(c.weight for c in kept)
        assert len(kept) <= 2
        assert len(kept) <= 1 or store.remembered_weight <= 20_000
