"""Run several event streams side by side and yield their events as they come.

The tool step uses it for calls of tools that may run in parallel (subagents):
each stream is driven by a task of its own; the merged stream ends when all
have ended, raises what one of them raised (after stopping the others), and,
when it is closed early (the turn stopped, the stream abandoned), cancels them
all and waits for them, so no task outlives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import TypeVar

__all__ = ["merge"]

T = TypeVar("T")

_DONE = object()


async def merge(streams: Sequence[AsyncGenerator[T, None]]) -> AsyncGenerator[T, None]:
    """The items of ``streams`` in the order they are produced."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def drive(stream: AsyncGenerator[T, None]) -> None:
        try:
            async with aclosing(stream):
                async for item in stream:
                    await queue.put(item)
        finally:
            await queue.put(_DONE)

    tasks = [asyncio.create_task(drive(stream)) for stream in streams]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
                failed = next((t for t in tasks if t.done() and t.exception()), None)
                if failed is not None:
                    failed.result()  # raise it: the step fails as a sequential one would
                continue
            yield item  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
