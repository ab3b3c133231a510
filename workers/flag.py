"""A flag a task can race against without a task of its own.

:class:`asyncio.Event` can only be waited on by a coroutine, so racing one
against a task (``asyncio.wait({work, asyncio.create_task(event.wait())})``)
costs a task, a coroutine and their context for as long as the wait lasts.
A worker holds three such races per waiting turn (its lease, its ``/stop``,
its approvals asking to park); with 10,000 waiting that is 30,000 tasks.
:class:`Flag` keeps a future instead, which ``asyncio.wait`` takes as it is.
"""

from __future__ import annotations

import asyncio

__all__ = ["Flag"]


class Flag:
    """Set once; seen by ``is_set`` and by ``asyncio.wait({..., flag.future})``.

    Made inside the running event loop (its future belongs to it).
    """

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def set(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def is_set(self) -> bool:
        return self.future.done()
