"""Run one approved tool call, forwarding the events it emits while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from core.errors import ToolError
from core.events import AgentEvent
from core.tools.tool import Tool, ToolContext

logger = logging.getLogger(__name__)


class ToolRun:
    """The outcome of a tool call: the text the model sees, and whether it failed."""

    def __init__(self) -> None:
        self.content = ""
        self.is_error = False


async def execute_tool(
    tool: Tool,
    arguments: dict[str, Any],
    context: ToolContext,
    timeout: float | None,
    run: ToolRun,
) -> AsyncIterator[AgentEvent]:
    """Run ``tool`` as a task; yield what it emits; put the result in ``run``.

    A tool that raises or times out is a tool result the model sees, not a
    crash of the turn: tools are arbitrary code, and this is their boundary.
    """
    queue: asyncio.Queue[AgentEvent] = asyncio.Queue()
    context = ToolContext(
        session_key=context.session_key,
        agent_id=context.agent_id,
        workspace=context.workspace,
        user=context.user,
        emit=queue.put,
    )
    task = asyncio.create_task(asyncio.wait_for(tool.call(arguments, context), timeout))
    try:
        while not task.done() or not queue.empty():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        run.content = task.result()
    except TimeoutError:
        run.content, run.is_error = f"{tool.name} timed out after {timeout:g} s", True
    except ToolError as exc:
        run.content, run.is_error = str(exc), True
    except Exception as exc:
        logger.warning("tool %s failed", tool.name, exc_info=True)
        run.content, run.is_error = f"{tool.name} failed: {type(exc).__name__}: {exc}", True
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
