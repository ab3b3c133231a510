"""Whether a turn gets dearer as its chat grows: worker CPU per turn at 0 and 1,000 messages.

:data:`SESSIONS` sessions get :data:`TURNS` turns each (one after another
within a session, the sessions side by side), once with empty histories and
once with histories of :data:`LONG` messages written beforehand. The first
turn of a session reads its whole history (a worker that has not seen it
yet: after a restart, or on another worker); the next ones read only what
was added since. Both are reported, and beside the first turn's extra CPU
(over an empty history's first turn) what reading the same histories costs
with the raw libraries in this process: redis-py's ``LRANGE`` and pydantic
parsing each item, which is the least any worker that holds the history in
memory spends on it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from core.messages import AssistantMessage, Message, UserMessage, message_from_json
from tests.bench.runtime_support import Api, FacioProcess
from workers import keys
from workers.stores import RedisSessionStore

__all__ = ["LONG", "PerTurn", "history_cost"]

SESSIONS = 40
TURNS = 5
LONG = 1000


@dataclass(frozen=True)
class PerTurn:
    first_ms: float
    """Worker CPU per turn, each session's first turn (its history read whole)."""
    later_ms: float
    """Worker CPU per turn, the turns after it."""
    raw_read_ms: float
    """CPU to read one of these histories with redis-py and pydantic, in this process."""


async def _preload(redis: Redis, sessions: list[str], length: int) -> None:
    store = RedisSessionStore(redis)
    pairs = length // 2
    for session in sessions:
        messages: list[Message] = []
        for i in range(pairs):
            messages += [
                UserMessage(content=f"message {i}: " + "words " * 20),
                AssistantMessage(content=f"answer {i}: " + "more words " * 30),
            ]
        await store.append(session, messages)


async def _turn_everywhere(api: Api, redis: Redis, sessions: list[str], n: int) -> None:
    """One more turn in every session; until each history has grown by it."""
    lengths = [await redis.llen(keys.history(s)) for s in sessions]  # type: ignore[misc]
    await asyncio.gather(*(api.post(s, f"ping {n}") for s in sessions))
    async with asyncio.timeout(120):
        for session, before in zip(sessions, lengths, strict=True):
            while await redis.llen(keys.history(session)) < before + 2:  # type: ignore[misc]
                await asyncio.sleep(0.02)


async def _raw_read_ms(redis: Redis, sessions: list[str]) -> float:
    """Per session: ``LRANGE`` the whole history and parse every item (median of 3)."""
    rounds = []
    for _ in range(3):
        before = time.process_time()
        for session in sessions:
            items = await redis.lrange(keys.history(session), 0, -1)  # type: ignore[misc]
            parsed = [message_from_json(item) for item in items]
            assert len(parsed) == len(items)
        rounds.append((time.process_time() - before) / len(sessions) * 1000)
    return sorted(rounds)[1]


async def history_cost(
    api: Api, redis: Redis, worker: FacioProcess, length: int, tag: str
) -> PerTurn:
    sessions = [f"api:hist-{tag}-{i}" for i in range(SESSIONS)]
    if length:
        await _preload(redis, sessions, length)
    before = worker.cpu_seconds()
    await _turn_everywhere(api, redis, sessions, 0)
    first = worker.cpu_seconds() - before
    before = worker.cpu_seconds()
    for n in range(1, TURNS):
        await _turn_everywhere(api, redis, sessions, n)
    later = worker.cpu_seconds() - before
    return PerTurn(
        first_ms=first / SESSIONS * 1000,
        later_ms=later / (SESSIONS * (TURNS - 1)) * 1000,
        raw_read_ms=await _raw_read_ms(redis, sessions),
    )
