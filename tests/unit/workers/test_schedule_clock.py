"""The schedules' clock seam: the manual clock tests drive, and the test-only env clock."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.errors import ConfigError
from workers.schedules.clock import CLOCK_ENV, ManualClock, ScaledClock, SystemClock, clock_from_env


async def test_a_manual_clock_wakes_sleepers_when_moved_past_their_time() -> None:
    clock = ManualClock(1000.0)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.now())

    tasks = [asyncio.create_task(sleeper(s)) for s in (10, 60)]
    await asyncio.sleep(0)
    clock.advance(30)
    await asyncio.sleep(0)
    assert woke == [1030.0]
    clock.set(1000.0)  # never backwards
    assert clock.now() == 1030.0
    clock.set(1060.0)
    await asyncio.gather(*tasks)
    assert woke == [1030.0, 1060.0]


def test_the_env_clock_is_off_unless_set_and_refuses_a_bad_value() -> None:
    assert isinstance(clock_from_env({}), SystemClock)
    fast = clock_from_env({CLOCK_ENV: f"60@{time.time() - 10:.3f}"})
    assert isinstance(fast, ScaledClock)
    assert fast.now() - time.time() == pytest.approx(590, abs=5)  # 10 real s → 600 clock s
    with pytest.raises(ConfigError, match="tests only"):
        clock_from_env({CLOCK_ENV: "fast"})
    with pytest.raises(ConfigError):
        clock_from_env({CLOCK_ENV: "0@1"})
