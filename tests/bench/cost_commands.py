"""Redis commands per plain turn, and per plain arq job, counted by ``MONITOR``.

``MONITOR`` shows every command Redis runs: those a client sent (``tcp``) and
those a script ran (``lua``), so a script call counts as itself plus what it
did. The benchmark's own polling runs on one connection whose address is left
out; the processes' background (heartbeats, polls, lease renewals) is measured
over a quiet window first and its rate subtracted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

__all__ = ["Commands", "Counted", "count_commands", "own_address"]

QUIET = 5.0
"""Seconds of nothing happening, to measure the background rate."""


@dataclass
class Counted:
    """What MONITOR saw while counting."""

    seconds: float = 0.0
    client: Counter[str] = field(default_factory=Counter)
    script: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Commands:
    """Commands per unit of work (a turn, a job), the background taken out."""

    units: int
    client: float
    """Commands the processes sent (a pipeline's commands each count; a script call is one)."""
    script: float
    """Commands run inside scripts."""
    top: list[tuple[str, float]]
    """The most frequent commands per unit, both kinds (``lua:`` marks script-inner ones)."""
    background_per_s: float

    @property
    def total(self) -> float:
        return self.client + self.script


async def own_address(redis: Redis) -> str:
    """``ip:port`` of ``redis``'s (single) connection, as MONITOR names it."""
    info = await redis.client_info()
    return str(info["addr"])


@contextlib.asynccontextmanager
async def _monitoring(url: str, ignore: str) -> AsyncIterator[Counted]:
    counted = Counted()
    monitor_client = Redis.from_url(url)
    ready = asyncio.Event()

    async def collect() -> None:
        async with monitor_client.monitor() as monitor:
            ready.set()
            async for info in monitor.listen():
                name = info["command"].split(" ", 1)[0].upper()
                if info["client_type"] == "lua":
                    counted.script[name] += 1
                elif f"{info['client_address']}:{info['client_port']}" != ignore:
                    counted.client[name] += 1

    task = asyncio.create_task(collect())
    await ready.wait()
    start = time.monotonic()
    try:
        yield counted
    finally:
        await asyncio.sleep(0.2)  # the last lines in flight
        counted.seconds = time.monotonic() - start
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await monitor_client.aclose()


async def count_commands(
    url: str, poller: Redis, units: int, work: Callable[[], Awaitable[None]]
) -> Commands:
    """Commands per unit of ``work`` (which does ``units`` turns or jobs and waits for them
    through ``poller``, a single-connection client whose commands are not counted)."""
    ignore = await own_address(poller)
    async with _monitoring(url, ignore) as quiet:
        await asyncio.sleep(QUIET)
    rate = (sum(quiet.client.values()) + sum(quiet.script.values())) / quiet.seconds
    async with _monitoring(url, ignore) as busy:
        await work()
    background = {
        name: count / quiet.seconds * busy.seconds
        for name, count in (
            quiet.client + Counter({f"lua:{k}": v for k, v in quiet.script.items()})
        ).items()
    }
    both = busy.client + Counter({f"lua:{k}": v for k, v in busy.script.items()})
    net = {
        name: max(count - background.get(name, 0.0), 0.0) / units for name, count in both.items()
    }
    client = sum(v for k, v in net.items() if not k.startswith("lua:"))
    script = sum(v for k, v in net.items() if k.startswith("lua:"))
    top = sorted(((k, v) for k, v in net.items() if v >= 0.05), key=lambda kv: -kv[1])[:12]
    return Commands(units, client, script, top, rate)
