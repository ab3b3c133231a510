"""Subagents: ``subagent_task(prompt, max_turns=100)`` delegates a subtask to a child agent.

An :class:`~core.agent.Agent` whose settings allow subagents
(``max_subagents`` > 0) offers the tool and makes the children itself: a
new agent with the parent's model, system prompt, settings, tools and
permission rules, no subagents of its own, its own empty history and agent
id ``sub-xxxx``, and fresh toolsets (:class:`ChildToolsets`: its own kernel,
its own MCP connections). Its events flow through the parent's
stream with the child's ``agent_id``; its approval requests are asked
through the parent's ``ToolContext.ask`` (same hooks, rules and person; they
cannot park, as they belong to a running tool call). At most
``max_subagents`` children of one agent (one turn) run at once; a child that fails is
reported to the parent model as a tool error, never a crash of the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from core.errors import FacioError, ToolError
from core.events import ApprovalRequest, Response
from core.tools.tool import Tool, ToolContext
from core.tools.toolset import AgentScopedToolset, ForkingToolset, Toolset

if TYPE_CHECKING:
    from core.agent.agent import Agent

__all__ = [
    "SUBAGENT_TOOL",
    "ChildFactory",
    "ChildToolsets",
    "SubagentTool",
    "new_subagent_id",
]

logger = logging.getLogger(__name__)

SUBAGENT_TOOL = "subagent_task"
DEFAULT_MAX_TURNS = 100

ChildFactory = Callable[[str, ToolContext], AbstractAsyncContextManager["Agent"]]
"""Makes a started child agent for ``(agent_id, parent context)`` and cleans up after it
(closes its fresh toolsets) when the context exits."""


def new_subagent_id() -> str:
    """``sub-`` and 8 hex characters: unique among a turn's children."""
    return f"sub-{secrets.token_hex(4)}"


class SubagentTool:
    """The ``subagent_task`` tool of one bot: children made by ``factory``."""

    def __init__(self, factory: ChildFactory, *, max_concurrent: int) -> None:
        """At most ``max_concurrent`` (1 or more) children run at once per session."""
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1 (0: do not offer the tool)")
        self.factory = factory
        self.max_concurrent = max_concurrent
        self._slots: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary()
        )
        """One semaphore per session while any of its children runs."""
        self.tool = Tool(
            self.subagent_task, name=SUBAGENT_TOOL, manages_timeout=True, parallel=True
        )

    async def subagent_task(
        self, prompt: str, context: ToolContext, max_turns: int = DEFAULT_MAX_TURNS
    ) -> str:
        """Delegate a self-contained subtask to a subagent and get its final answer.

        The subagent starts with no memory of this conversation: put everything it
        needs in the prompt. It has the same tools (it asks for approval the same
        way) except subagents of its own.

        Args:
            prompt: The complete task for the subagent.
            max_turns: Most model calls the subagent may make.
        """
        if max_turns < 1:
            raise ToolError("max_turns must be at least 1")
        slots = self._slots.get(context.session_key)
        if slots is None:
            slots = self._slots[context.session_key] = asyncio.Semaphore(self.max_concurrent)
        async with slots:
            agent_id = new_subagent_id()
            try:
                async with self.factory(agent_id, context) as child:
                    return await _run_child(child, prompt, max_turns, context)
            except ToolError:
                raise
            except FacioError as exc:
                raise ToolError(f"subagent {agent_id} failed: {exc}") from exc


async def _run_child(child: Agent, prompt: str, max_turns: int, context: ToolContext) -> str:
    """Forward the child's events; answer its approvals through the parent; its last answer."""
    asks: list[asyncio.Future[bool]] = []
    answer = ""
    try:
        async for event in child.stream(prompt, max_turns=max_turns):
            if isinstance(event, ApprovalRequest):
                # asked concurrently: the child yields all requests of a step, then waits
                asks.append(asyncio.ensure_future(_ask(context, event)))
                continue
            if isinstance(event, Response):
                answer = event.content
            await context.emit(event)
    finally:
        for task in asks:
            if not task.done():
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*asks, return_exceptions=True)
    return answer or "(the subagent finished without an answer)"


async def _ask(context: ToolContext, request: ApprovalRequest) -> bool:
    """Ask the parent; a failure to ask (a hook raised) is a rejection, never a hang."""
    try:
        return await context.ask(request)
    except Exception:  # the boundary of the parent's policy code: log, deny, go on
        logger.exception("asking about %s for %s failed", request.tool_name, request.agent_id)
        request.approve(False)
        return False


class ChildToolsets:
    """The toolsets of one subagent, made from its parent's.

    A :class:`~core.tools.toolset.ForkingToolset` gives the child one of its
    own (fresh MCP connections), closed when the child ends; any other is
    shared, and an :class:`~core.tools.toolset.AgentScopedToolset` among
    them (code execution: kernels per agent id, so the child gets a fresh
    kernel from the warm pool) is told to release the child's state.
    """

    def __init__(self, parent: Sequence[Toolset]) -> None:
        self.owned: list[Toolset] = []
        self.toolsets: list[Toolset] = []
        for toolset in parent:
            if isinstance(toolset, ForkingToolset):
                own = toolset.for_subagent()
                self.owned.append(own)
                self.toolsets.append(own)
            else:
                self.toolsets.append(toolset)

    async def close(self, session_key: str, agent_id: str) -> None:
        """Release the child's kernel, close its own connections; every step is tried."""
        try:
            for toolset in self.toolsets:
                if isinstance(toolset, AgentScopedToolset) and toolset not in self.owned:
                    await toolset.release(session_key, agent_id)
        finally:
            closed = await asyncio.gather(*(t.aclose() for t in self.owned), return_exceptions=True)
            for outcome in closed:
                if isinstance(outcome, Exception):
                    logger.warning("closing a subagent's toolset failed: %s", outcome)
