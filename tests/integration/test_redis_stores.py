"""RedisSessionStore and RedisPermissionStore against a real Redis.

The session checks mirror those core's JsonlSessionStore passes
(tests/unit/sessions/test_jsonl_store.py) wherever they apply to Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.errors import CorruptSessionError, SessionStoreError
from core.messages import AssistantMessage, UserMessage, message_to_json
from core.permissions import PermissionManager
from tests.unit.sessions.samples import EVERY_KIND
from workers import keys
from workers.stores import RedisPermissionStore, RedisSessionStore

ODD_KEYS = [
    "telegram:123",
    "slack:T01:C02:1700000000.0001",
    "with spaces  and\ttabs",
    "ключ 🔑 鍵",
    "glob*?[chars]",
    "facio:history:nested",
    "../x",
]


@pytest.fixture
def store(redis: aioredis.Redis) -> RedisSessionStore:
    return RedisSessionStore(redis)


@pytest.fixture
async def text_client(redis: aioredis.Redis, redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client with str replies, on the database ``redis`` has just flushed."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


class _Unserializable(UserMessage):
    """A message whose serialization fails half way through a batch."""

    def model_dump_json(self, **kwargs: Any) -> str:
        raise RuntimeError("serialization failed")


async def test_every_message_kind_round_trips(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    await store.append("s", EVERY_KIND)
    assert await RedisSessionStore(redis).load("s") == EVERY_KIND


async def test_one_json_message_per_list_item(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    await store.append("s", EVERY_KIND)
    items = await redis.lrange(keys.history("s"), 0, -1)  # type: ignore[misc]
    assert [json.loads(item)["role"] for item in items] == [
        "user",
        "assistant",
        "tool_started",
        "tool",
        "tool",
        "assistant",
        "user",
    ]


async def test_append_adds_at_the_end(store: RedisSessionStore) -> None:
    await store.append("s", EVERY_KIND[:2])
    await store.append("s", EVERY_KIND[2:])
    assert await store.load("s") == EVERY_KIND


async def test_unknown_session_is_empty(store: RedisSessionStore) -> None:
    assert await store.load("never-seen") == []
    assert await store.keys() == []


async def test_append_nothing_creates_no_session(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    await store.append("s", [])
    assert await store.keys() == []
    assert await redis.dbsize() == 0


async def test_sessions_stay_separate(store: RedisSessionStore) -> None:
    await store.append("a", [UserMessage(content="for a")])
    await store.append("b", [UserMessage(content="for b")])
    await store.append("a", [AssistantMessage(content="answer a")])
    assert await store.load("a") == [
        UserMessage(content="for a"),
        AssistantMessage(content="answer a"),
    ]
    assert await store.load("b") == [UserMessage(content="for b")]
    assert await store.keys() == ["a", "b"]


async def test_replace_sets_whole_history(store: RedisSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    await store.replace("s", [UserMessage(content="fresh")])
    assert await store.load("s") == [UserMessage(content="fresh")]
    assert await store.keys() == ["s"]


async def test_replace_with_nothing_keeps_an_empty_session(store: RedisSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    await store.replace("s", [])
    assert await store.load("s") == []
    assert await store.keys() == ["s"]  # as an empty JSONL file is still a session


async def test_delete_forgets_only_that_session(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    await store.append("a", [UserMessage(content="x")])
    await store.append("b", [UserMessage(content="y")])
    await store.delete("a")
    assert await store.load("a") == []
    assert await store.keys() == ["b"]
    assert not await redis.exists(keys.history("a"))
    await store.delete("a")  # deleting again is harmless
    await store.delete("never-seen")
    assert await store.load("b") == [UserMessage(content="y")]


async def test_odd_keys_round_trip_and_stay_distinct(store: RedisSessionStore) -> None:
    for key in ODD_KEYS:
        await store.append(key, [UserMessage(content=key)])
    assert await store.keys() == sorted(ODD_KEYS)
    for key in ODD_KEYS:
        assert await store.load(key) == [UserMessage(content=key)]


@pytest.mark.parametrize("operation", ["load", "append", "replace", "delete"])
async def test_empty_key_is_rejected(
    store: RedisSessionStore, redis: aioredis.Redis, operation: str
) -> None:
    method = getattr(store, operation)
    args = () if operation in ("load", "delete") else ([UserMessage(content="x")],)
    with pytest.raises(SessionStoreError, match="empty"):
        await method("", *args)
    assert await redis.dbsize() == 0


async def test_failed_append_keeps_old_history(store: RedisSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    with pytest.raises(RuntimeError, match="serialization failed"):
        await store.append("s", [UserMessage(content="ok"), _Unserializable(content="boom")])
    assert await store.load("s") == EVERY_KIND


async def test_failed_first_append_creates_no_session(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    with pytest.raises(RuntimeError):
        await store.append("s", [_Unserializable(content="boom")])
    assert await store.keys() == []
    assert await redis.dbsize() == 0


async def test_failed_replace_keeps_old_history(store: RedisSessionStore) -> None:
    await store.append("s", EVERY_KIND)
    with pytest.raises(RuntimeError):
        await store.replace("s", [_Unserializable(content="boom")])
    assert await store.load("s") == EVERY_KIND


@pytest.mark.parametrize(
    "bad",
    [
        b"{not json at all",
        b'{"role": "user", "content": "cut sho',
        b'{"role": "system", "content": "x"}',
        b'{"role": "user"}',
        b'{"role": "user", "content": "x", "surprise": 1}',
        b"[1, 2, 3]",
        b"\xff\xfe\x00",
    ],
    ids=[
        "garbage",
        "truncated",
        "unknown-role",
        "missing-field",
        "extra-field",
        "not-an-object",
        "not-utf8",
    ],
)
async def test_item_that_is_not_a_message_is_corrupt_and_kept(
    store: RedisSessionStore, redis: aioredis.Redis, bad: bytes
) -> None:
    key = keys.history("telegram:42")
    await store.append("telegram:42", [UserMessage(content="one"), UserMessage(content="two")])
    await redis.rpush(key, bad, message_to_json(UserMessage(content="4")))  # type: ignore[misc]
    before = await redis.lrange(key, 0, -1)  # type: ignore[misc]

    with pytest.raises(CorruptSessionError) as info:
        await store.load("telegram:42")
    assert "'telegram:42'" in str(info.value)
    assert "item 2 " in str(info.value)

    # an append never "repairs" the history by dropping the damaged item
    await store.append("telegram:42", [UserMessage(content="five")])
    assert await redis.lrange(key, 0, -1) == [  # type: ignore[misc]
        *before,
        message_to_json(UserMessage(content="five")).encode(),
    ]
    with pytest.raises(CorruptSessionError):
        await store.load("telegram:42")


async def test_a_key_of_the_wrong_type_is_a_store_error(
    store: RedisSessionStore, redis: aioredis.Redis
) -> None:
    await redis.set(keys.history("s"), "not a list")
    with pytest.raises(SessionStoreError, match="cannot read the history of 's'"):
        await store.load("s")
    with pytest.raises(SessionStoreError, match="cannot write the history of 's'"):
        await store.append("s", [UserMessage(content="x")])
    assert await redis.get(keys.history("s")) == b"not a list"


async def test_text_client_works_too(text_client: aioredis.Redis) -> None:
    store = RedisSessionStore(text_client)
    await store.append("ключ", EVERY_KIND)
    assert await store.load("ключ") == EVERY_KIND
    assert await store.keys() == ["ключ"]


async def test_concurrent_appends_all_land_in_order_per_task(
    store: RedisSessionStore, redis_url: str
) -> None:  # ``store`` uses the ``redis`` fixture: the database is flushed
    tasks, per_task = 20, 10

    async def writer(task: int) -> None:
        client = aioredis.Redis.from_url(redis_url)  # each task its own connection, like workers
        try:
            mine = RedisSessionStore(client)
            for i in range(per_task):
                await mine.append("shared", [UserMessage(content=f"{task}:{i}")])
        finally:
            await client.aclose()

    await asyncio.gather(*(writer(t) for t in range(tasks)))

    history = await store.load("shared")
    assert len(history) == tasks * per_task
    contents = [m.content for m in history if isinstance(m, UserMessage)]
    for task in range(tasks):
        mine = [c for c in contents if c.split(":")[0] == str(task)]
        assert mine == [f"{task}:{i}" for i in range(per_task)]


async def test_concurrent_multi_message_appends_are_not_interleaved(
    store: RedisSessionStore,
) -> None:
    async def writer(task: int) -> None:
        await store.append("shared", [UserMessage(content=f"{task}:{i}") for i in range(3)])

    await asyncio.gather(*(writer(t) for t in range(30)))

    contents = [m.content for m in await store.load("shared") if isinstance(m, UserMessage)]
    assert len(contents) == 90
    for start in range(0, 90, 3):
        task = contents[start].split(":")[0]
        assert contents[start : start + 3] == [f"{task}:{i}" for i in range(3)]


# --- permissions ---------------------------------------------------------------


async def test_always_rules_are_per_bot(redis: aioredis.Redis) -> None:
    main, other = RedisPermissionStore(redis, "main"), RedisPermissionStore(redis, "other")
    assert await main.load_always() == set()
    await main.add_always("current_time")
    await main.add_always("mcp_time_*")
    await main.add_always("current_time")  # twice is harmless
    assert await main.load_always() == {"current_time", "mcp_time_*"}
    assert await RedisPermissionStore(redis, "main").load_always() == {"current_time", "mcp_time_*"}
    assert await other.load_always() == set()
    raw = await redis.smembers(keys.perm_always("main"))  # type: ignore[misc]
    assert raw == {b"current_time", b"mcp_time_*"}


async def test_session_rules_are_per_session_and_cleared_alone(redis: aioredis.Redis) -> None:
    store = RedisPermissionStore(redis, "main")
    await store.add_always("kept")
    await store.add_session("telegram:1", "save_note")
    await store.add_session("telegram:2", "ipybox_execute_ipython_cell")
    assert await store.load_session("telegram:1") == {"save_note"}
    assert await store.load_session("telegram:2") == {"ipybox_execute_ipython_cell"}
    assert await store.load_session("telegram:3") == set()

    await store.clear_session("telegram:1")
    assert await store.load_session("telegram:1") == set()
    assert await store.load_session("telegram:2") == {"ipybox_execute_ipython_cell"}
    assert await store.load_always() == {"kept"}
    await store.clear_session("telegram:1")  # again: harmless


async def test_permission_store_with_text_client(text_client: aioredis.Redis) -> None:
    store = RedisPermissionStore(text_client, "main")
    await store.add_session("s", "ünïcode_tool")
    assert await store.load_session("s") == {"ünïcode_tool"}


async def test_permission_manager_shares_rules_across_processes(
    redis: aioredis.Redis, redis_url: str
) -> None:
    """Two managers on separate connections: the way a gateway and a worker see one rule set."""
    first_client, second_client = (
        aioredis.Redis.from_url(redis_url),
        aioredis.Redis.from_url(redis_url),
    )
    try:
        first = PermissionManager(
            store=RedisPermissionStore(first_client, "main"), session_key="telegram:1"
        )
        await first.load()
        assert not first.is_allowed("ipybox_execute_ipython_cell")
        await first.allow_always("mcp_time_*")
        await first.allow_session("ipybox_execute_ipython_cell")

        second = PermissionManager(
            store=RedisPermissionStore(second_client, "main"), session_key="telegram:1"
        )
        await second.load()
        assert second.is_allowed("mcp_time_now")
        assert second.is_allowed("ipybox_execute_ipython_cell")

        elsewhere = PermissionManager(
            store=RedisPermissionStore(second_client, "main"), session_key="telegram:2"
        )
        await elsewhere.load()
        assert elsewhere.is_allowed("mcp_time_now")
        assert not elsewhere.is_allowed("ipybox_execute_ipython_cell")
    finally:
        await first_client.aclose()
        await second_client.aclose()
