"""Run one cell in a kernel: stream its output, ask its approvals, survive cancellation.

Approvals raised by the running code (an MCP call through a generated API,
a ``!cmd`` or ``%%bash``) come from ipybox as its own ``ApprovalRequest``;
each becomes a facio :class:`~core.events.ApprovalRequest` asked through
``ToolContext.ask`` in a task of its own, so several can be pending at once
and be answered in any order:

- an MCP call is ``<server>_<tool>`` with the exact arguments (the name the
  JSON-tool MCP toolset uses, so one permission rule covers both);
- a shell escape is ``shell`` with ``{"command": …}``.

ipybox deadlocks when its stream is dropped while an approval is pending
(closing the stream waits for the kernel, which waits for the answer). So
the stream is consumed in a task of its own, and when the tool is cancelled
(the turn stopped, the event stream abandoned) every pending approval is
rejected first, then the execution is cancelled (ipybox interrupts the
kernel), and only then is the stream let go. The kernel stays usable.

The time limit is kept here, not by ipybox (:mod:`core.code.clock`): the
clock stops while any approval is pending, and a cell out of time is
stopped the same way. A decision that fails (a hook raising) is logged and
answered as a rejection: ipybox has no approval timeout, so an item left
unanswered would hold the cell for ever.
"""

from __future__ import annotations

import asyncio
import logging

from ipybox import (
    ApprovalRequest as CodeApproval,
)
from ipybox import (
    CodeExecutionChunk,
    CodeExecutionError,
    CodeExecutionResult,
)
from websockets.exceptions import ConnectionClosed

from core.code.clock import ExecutionClock
from core.code.executor import KernelExecutor
from core.code.kernel import Kernel
from core.code.output import CellResult, OutputBuffer
from core.events import ApprovalRequest, CodeExecutionOutputChunk
from core.mcp.names import exposed_name
from core.tools.tool import ToolContext

__all__ = ["SHELL_TOOL", "run_cell"]

logger = logging.getLogger(__name__)

SHELL_TOOL = "shell"
"""The tool name a shell escape in code is approved as."""
_IPYBOX_SHELL = ("ipybox", ("shell", "shell_magic"))
ABANDON_GRACE = 10.0
"""Seconds an abandoned cell gets to stop after its interrupt, before its stream is cut."""


def facio_request(item: CodeApproval, context: ToolContext, number: int) -> ApprovalRequest:
    """The facio request for one approval the running code needs."""
    if item.server_name == _IPYBOX_SHELL[0] and item.tool_name in _IPYBOX_SHELL[1]:
        name, args = SHELL_TOOL, {"command": str(item.tool_args.get("cmd", ""))}
    else:
        # the name the JSON-tool MCP toolset gives it too: one permission rule covers both
        name, args = exposed_name(item.server_name, item.tool_name), dict(item.tool_args)
    return ApprovalRequest(
        tool_name=name,
        tool_args=args,
        tool_call_id=f"{context.tool_call_id}/{number}",
        agent_id=context.agent_id,
    )


async def _answer(item: CodeApproval, granted: bool) -> None:
    try:
        await (item.accept() if granted else item.reject())
    except (RuntimeError, ConnectionClosed) as exc:  # the execution ended meanwhile
        logger.info("approval answer not delivered (%s): %s", item, exc)


class _Approvals:
    """The running code's approvals: each asked on its own, all rejected on abandon.

    The clock is stopped while any of them is pending.
    """

    def __init__(self, context: ToolContext, clock: ExecutionClock) -> None:
        self.context = context
        self.clock = clock
        self._asked = 0
        self._pending: dict[CodeApproval, ApprovalRequest] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def ask(self, item: CodeApproval) -> None:
        self._asked += 1
        request = facio_request(item, self.context, self._asked)
        self._pending[item] = request
        self.clock.approval_asked()
        task = asyncio.create_task(self._decide(item, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, item: CodeApproval, request: ApprovalRequest) -> None:
        try:
            granted = await self.context.ask(request)
        except Exception:  # one approval's boundary: ipybox waits for an answer, so give one
            logger.exception(
                "deciding %s for running code failed; the code's call is rejected",
                request.tool_name,
            )
            request.approve(False)
            granted = False
        finally:
            self.clock.approval_decided()
        self._pending.pop(item, None)
        await _answer(item, granted)

    async def abandon(self) -> None:
        """Reject whatever is still pending: nobody will act on an answer any more."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                logger.error("an approval of running code failed", exc_info=outcome)
        pending, self._pending = self._pending, {}
        for item, request in pending.items():
            request.approve(False)
            await _answer(item, False)


def _timeout_note(timeout: float | None) -> str:
    limit = f" {timeout:g} s" if timeout is not None else ""
    return (
        f"Timed out: the code ran longer than its{limit} limit (approval waits excluded) "
        "and was interrupted."
    )


async def run_cell(
    kernel: Kernel, code: str, *, context: ToolContext, timeout: float | None, limit: int
) -> CellResult:
    """Run ``code``; its output is emitted as it streams.

    Raises only for a broken kernel: :class:`~core.code.errors.KernelLostError` (a
    :class:`~core.code.errors.LimitExceededError` when the code reached a limit
    of its sandbox), with what the code printed until then in its ``output``.
    """
    executor = kernel.executor
    buffer = OutputBuffer(limit)
    clock = ExecutionClock(timeout)
    approvals = _Approvals(context, clock)
    result = CellResult()

    async def pump() -> None:
        try:
            # no ipybox timeout: its budget resumes on the first decision (see core.code.clock)
            async for item in executor.stream(code, timeout=None, chunks=True):
                if isinstance(item, CodeApproval):
                    approvals.ask(item)
                elif isinstance(item, CodeExecutionChunk):
                    shown = buffer.add(item.text)
                    if shown:
                        chunk = CodeExecutionOutputChunk(text=shown, agent_id=context.agent_id)
                        await context.emit(chunk)
                elif isinstance(item, CodeExecutionResult):
                    result.images = list(item.images)
        except CodeExecutionError as exc:
            result.error = str(exc).strip()

    task = asyncio.create_task(pump())
    watchdog = asyncio.create_task(clock.expired())
    try:
        await asyncio.wait({task, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # out of time, with no approval pending
            result.timeout = _timeout_note(timeout)
            await _abandon(executor, approvals, task)
    except asyncio.CancelledError:
        await _abandon(executor, approvals, task)
        raise
    finally:
        watchdog.cancel()
        await approvals.abandon()  # a cell that ended is asking for nothing any more
    result.output = buffer.text()
    result.truncated = buffer.truncated
    if not task.cancelled():  # else its stream was cut after a timeout: the probe tells more
        try:
            task.result()
        except Exception as exc:  # the kernel failed, or reached a limit: map it once, here
            raise kernel.lost(exc, result.output) from exc
    breach = kernel.breach(result.output)
    if breach is not None:  # what the cell started fills the sandbox: only a restart ends it
        raise breach
    return result


async def _abandon(
    executor: KernelExecutor, approvals: _Approvals, task: asyncio.Task[None]
) -> None:
    """Stop a cell (cancelled or out of time) without deadlocking ipybox."""
    await approvals.abandon()
    executor.cancel()
    done, _ = await asyncio.wait({task}, timeout=ABANDON_GRACE)
    if not done:
        logger.warning(
            "an abandoned cell did not stop in %.0f s; cutting its stream", ABANDON_GRACE
        )
        task.cancel()
        await asyncio.wait({task}, timeout=ABANDON_GRACE)
    if task.done() and not task.cancelled() and task.exception() is not None:
        logger.info("an abandoned cell ended with %r", task.exception())
