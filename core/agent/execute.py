"""Run one approved tool call, forwarding the events it emits while it runs.

Whatever a tool raises becomes its result for the model (and, in the
stream, for people): the text shows paths relative to the workspace, never
the server's (:mod:`core.shown`); the log keeps the whole exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from core.errors import ToolError
from core.events import AgentEvent, ApprovalRequest
from core.shown import error_text, scrub
from core.tools.tool import Tool, ToolContext

logger = logging.getLogger(__name__)


class ToolRun:
    """The outcome of a tool call: the text the model sees, whether it failed, and
    the requests raised inside it that were rejected (they end the turn)."""

    def __init__(self) -> None:
        self.content = ""
        self.is_error = False
        self.rejected: list[str] = []


Policy = Callable[[ApprovalRequest], Awaitable[bool | None]]
"""Decides a request without asking anyone (hooks, permission rules); None: no opinion."""


async def _no_policy(request: ApprovalRequest) -> bool | None:
    return None


async def execute_tool(
    tool: Tool,
    arguments: dict[str, Any],
    context: ToolContext,
    run: ToolRun,
    *,
    timeout: float | None,
    approval_timeout: float | None = None,
    policy: Policy = _no_policy,
) -> AsyncGenerator[AgentEvent, None]:
    """Run ``tool`` as a task; yield what it emits; put the result in ``run``.

    A tool that raises or times out is a tool result the model sees, not a
    crash of the turn: tools are arbitrary code, and this is their boundary.
    A request the tool raises with ``context.ask`` is decided by ``policy``,
    else yielded into the stream and awaited for up to ``approval_timeout``
    (then it counts as rejected).
    """
    queue: asyncio.Queue[AgentEvent] = asyncio.Queue()

    async def ask(request: ApprovalRequest) -> bool:
        request.parkable = False
        try:
            decided = await policy(request)
        except Exception:  # hook code raised: deny rather than leave the running tool hanging
            logger.exception("deciding %s raised; it is rejected", request.tool_name)
            decided = False
        if decided is None:
            await queue.put(request)
            decided = await request.wait(approval_timeout)
        else:
            request.approve(decided)
        if not decided:
            run.rejected.append(request.tool_name)
        return decided

    context = replace(context, emit=queue.put, ask=ask, execution_timeout=timeout)
    limit = None if tool.manages_timeout else timeout
    task = asyncio.create_task(asyncio.wait_for(tool.call(arguments, context), limit))
    getter: asyncio.Future[AgentEvent] | None = None
    try:
        while not task.done() or not queue.empty():
            getter = asyncio.ensure_future(queue.get())
            # cancelled here when a parallel call's driver is stopped (see core.agent.merge)
            await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        run.content = task.result()
    except TimeoutError:
        after = f" after {timeout:g} s" if timeout is not None else ""
        run.content, run.is_error = f"{tool.name} timed out{after}", True
    except ToolError as exc:
        run.content, run.is_error = scrub(str(exc), context.workspace), True
    except Exception as exc:
        logger.warning("tool %s failed", tool.name, exc_info=True)
        shown = error_text(exc, context.workspace)
        run.content, run.is_error = f"{tool.name} failed: {type(exc).__name__}: {shown}", True
    finally:
        if getter is not None:
            getter.cancel()  # no-op once done; else it would be left pending for ever
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
