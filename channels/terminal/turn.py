"""One turn on the terminal, and Ctrl-C as "stop this turn".

A turn runs as its own task so that Ctrl-C (SIGINT, routed through the event
loop with ``loop.add_signal_handler``) can cancel exactly that task: the
stream stops wherever it is — mid-answer, mid-tool, or at the approval
prompt — and the program goes on. A cancelled approval stays undecided; the
session history keeps the suspended call as its checkpoint, and the next
message supersedes it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from channels.terminal.render import Renderer
from core.agent import Agent
from core.events import ApprovalRequest

__all__ = ["Decide", "TurnRunner", "play_turn", "sigint_handler"]

Decide = Callable[[ApprovalRequest], Awaitable[object]]
"""Decides one approval request (asks the person, or rejects)."""


async def play_turn(agent: Agent, prompt: str, renderer: Renderer, decide: Decide) -> None:
    """Stream one turn of ``agent`` to ``renderer``; undecided approvals go to ``decide``.

    The event stream is closed on the way out, whatever the way: a cancelled
    turn must not leave the agent believing it is still streaming.
    """
    events = agent.stream(prompt)
    try:
        async for event in events:
            renderer.render(event)
            if isinstance(event, ApprovalRequest) and event.decision is None:
                await decide(event)
    finally:
        renderer.finish()
        await events.aclose()


class TurnRunner:
    """Runs one turn at a time as a task that :meth:`interrupt` can cancel."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self, turn: Coroutine[Any, Any, None]) -> bool:
        """Run ``turn``; True when it finished, False when it was interrupted.

        Its exceptions propagate to the caller.
        """
        task = asyncio.create_task(turn)
        self._task = task
        try:
            await asyncio.wait([task])
        finally:
            self._task = None
            if not task.done():  # the caller itself was cancelled: take the turn along
                task.cancel()
        if task.cancelled():
            return False
        task.result()
        return True

    def interrupt(self) -> bool:
        """Cancel the running turn; False when none runs."""
        if self._task is None or self._task.done():
            return False
        self._task.cancel()
        return True


@contextmanager
def sigint_handler(callback: Callable[[], object]) -> Iterator[bool]:
    """Route SIGINT to ``callback`` in the running loop while inside the block.

    Yields False where the loop cannot take signals (not the main thread, or
    a platform without ``add_signal_handler``); Ctrl-C then raises
    KeyboardInterrupt as usual.
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        yield False
        return
    try:
        yield True
    finally:
        loop.remove_signal_handler(signal.SIGINT)
