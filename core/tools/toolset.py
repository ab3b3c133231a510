"""Toolsets: tools that need set-up before an agent can offer them.

An MCP server's tools are known only once it is connected; code execution
needs a kernel pool. A :class:`Toolset` does that work once, on the first
``tools()`` call (an agent's ``start``), and hands out ordinary
:class:`~core.tools.tool.Tool` objects; ``aclose`` releases what it holds
(processes, connections). Tools that depend on the session (a kernel per
session) look it up at call time from their ``ToolContext``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from core.tools.tool import Tool

__all__ = ["AgentScopedToolset", "ForkingToolset", "SessionToolset", "Toolset", "WarmingToolset"]


class Toolset(Protocol):
    """A source of tools with a lifetime: connected on first use, closed at the end."""

    async def tools(self) -> Sequence[Tool]:
        """The tools to offer; sets up on the first call, cheap afterwards.

        Must not raise for a part that failed (one MCP server down): leave its
        tools out, log why, and keep the rest.
        """
        ...

    async def aclose(self) -> None:
        """Stop what was started (kernels, server processes); safe to call twice."""
        ...


@runtime_checkable
class SessionToolset(Protocol):
    """A toolset that keeps something per session (a Python kernel) to let go of."""

    async def forget_session(self, session_key: str) -> None:
        """The session starts over (``/new``): drop what is kept for it."""
        ...


@runtime_checkable
class ForkingToolset(Protocol):
    """A toolset that gives each subagent one of its own (fresh MCP connections)."""

    def for_subagent(self) -> Toolset:
        """A new toolset for a subagent; it is closed when the subagent ends."""
        ...


@runtime_checkable
class AgentScopedToolset(Protocol):
    """A toolset that keeps something per agent of a session (a subagent's kernel)."""

    async def release(self, session_key: str, agent_id: str) -> None:
        """The agent ``agent_id`` of ``session_key`` is done: drop what is kept for it."""
        ...


@runtime_checkable
class WarmingToolset(Protocol):
    """A toolset whose set-up is slow enough to start before any agent needs it (kernels)."""

    def warm_up(self) -> None:
        """Start the set-up in the background and return at once (idempotent); a first
        use waits for it rather than starting the same work twice."""
        ...
