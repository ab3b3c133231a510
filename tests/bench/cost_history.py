"""Whether a turn gets dearer as its chat grows: worker CPU per turn at 0 and 1,000 messages.

:data:`SESSIONS` sessions get :data:`TURNS` turns each (one after another
within a session, the sessions side by side), once with empty histories and
once with histories of :data:`LONG` messages written beforehand. The first
turn of a session reads its whole history (a worker that has not seen it
yet: after a restart, or on another worker); the next ones read only what
was added since. Both are reported, and beside the first turn's extra CPU
(over an empty history's first turn) what reading the same histories costs
the raw libraries in a process of their own, keeping what they read as a
worker does (:mod:`tests.bench.raw_history_read`): the least any worker
that holds the histories in memory spends on them.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from dataclasses import dataclass

from redis.asyncio import Redis

from core.messages import AssistantMessage, Message, UserMessage
from tests.bench.runtime_support import Api, FacioProcess
from workers import keys
from workers.stores import RedisSessionStore

__all__ = ["LONG", "PerTurn", "history_cost"]

SESSIONS = 40
TURNS = 9
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


RAW_ROUNDS = 3


async def _raw_read_ms(url: str, sessions: list[str]) -> float:
    """CPU ms per history for the raw libraries alone (:mod:`tests.bench.raw_history_read`),
    median of :data:`RAW_ROUNDS` fresh processes."""
    rounds = []
    for _ in range(RAW_ROUNDS):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.bench.raw_history_read",
            url,
            *sessions,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        assert process.returncode == 0, out
        rounds.append(float(out))
    return statistics.median(rounds)


async def history_cost(
    api: Api, redis: Redis, url: str, worker: FacioProcess, length: int, tag: str
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
        raw_read_ms=await _raw_read_ms(url, sessions) if length else 0.0,
    )
