"""MemorySessionStore: the in-process store behaves like the file store."""

from __future__ import annotations

import asyncio

from core.messages import AssistantMessage, UserMessage
from core.sessions import MemorySessionStore
from tests.unit.sessions.samples import EVERY_KIND


async def test_every_message_kind_round_trips() -> None:
    store = MemorySessionStore()
    await store.append("s", EVERY_KIND[:3])
    await store.append("s", EVERY_KIND[3:])
    assert await store.load("s") == EVERY_KIND


async def test_unknown_session_is_empty() -> None:
    store = MemorySessionStore()
    assert await store.load("never-seen") == []
    assert await store.keys() == []


async def test_sessions_stay_separate() -> None:
    store = MemorySessionStore()
    await store.append("b", [UserMessage(content="for b")])
    await store.append("a:1/x y", [UserMessage(content="for a")])
    assert await store.load("a:1/x y") == [UserMessage(content="for a")]
    assert await store.load("b") == [UserMessage(content="for b")]
    assert await store.keys() == ["a:1/x y", "b"]


async def test_loaded_history_is_a_copy() -> None:
    store = MemorySessionStore()
    await store.append("s", [UserMessage(content="one")])
    history = await store.load("s")
    history.append(AssistantMessage(content="not saved"))
    history.clear()
    assert await store.load("s") == [UserMessage(content="one")]


async def test_appended_sequence_is_copied() -> None:
    store = MemorySessionStore()
    batch = [UserMessage(content="one")]
    await store.replace("s", batch)
    batch.append(UserMessage(content="later"))
    assert await store.load("s") == [UserMessage(content="one")]


async def test_replace_and_delete() -> None:
    store = MemorySessionStore()
    await store.append("s", EVERY_KIND)
    await store.replace("s", [UserMessage(content="fresh")])
    assert await store.load("s") == [UserMessage(content="fresh")]
    await store.delete("s")
    await store.delete("s")  # deleting again is harmless
    assert await store.load("s") == []
    assert await store.keys() == []


async def test_concurrent_appends_all_land_in_order_per_task() -> None:
    store = MemorySessionStore()

    async def writer(task: int) -> None:
        for i in range(5):
            await store.append("shared", [UserMessage(content=f"{task}:{i}")])
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(t) for t in range(20)))

    contents = [m.content for m in await store.load("shared") if isinstance(m, UserMessage)]
    assert len(contents) == 100
    for task in range(20):
        assert [c for c in contents if c.startswith(f"{task}:")] == [
            f"{task}:{i}" for i in range(5)
        ]
