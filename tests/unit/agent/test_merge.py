"""``merge``: event streams side by side — interleaved, failures raised, nothing left running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest

from core.agent.merge import merge


async def _ticks(name: str, count: int, pause: float, log: list[str]) -> AsyncGenerator[str, None]:
    try:
        for i in range(count):
            await asyncio.sleep(pause)
            yield f"{name}{i}"
    finally:
        log.append(f"{name} closed")


async def test_items_come_as_they_are_produced() -> None:
    log: list[str] = []
    got = [item async for item in merge([_ticks("a", 3, 0.03, log), _ticks("b", 2, 0.01, log)])]
    assert sorted(got) == ["a0", "a1", "a2", "b0", "b1"]
    assert got.index("b1") < got.index("a1")  # the fast stream did not wait for the slow one
    assert sorted(log) == ["a closed", "b closed"]


async def test_a_failure_is_raised_and_the_others_are_stopped() -> None:
    log: list[str] = []

    async def broken() -> AsyncGenerator[str, None]:
        yield "x"
        raise ValueError("tool step broke")

    with pytest.raises(ValueError, match="broke"):
        async for _ in merge([_ticks("a", 100, 0.01, log), broken()]):
            pass
    assert log == ["a closed"]


async def test_closing_early_cancels_every_stream() -> None:
    log: list[str] = []
    async with aclosing(merge([_ticks("a", 100, 0.01, log), _ticks("b", 100, 0.01, log)])) as m:
        async for item in m:
            if item:
                break
    assert sorted(log) == ["a closed", "b closed"]
