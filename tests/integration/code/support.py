"""Helpers for code-action tests: agents that run code on a real toolset, and their events.

The model is the shipped scripted ``code`` model (bots/scripts/code.json):
"run <code>" calls ``ipybox_execute_ipython_cell`` with that code, and the
answer repeats the tool result after "Result:".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TypeVar

from bots import builtin_scripts
from core import Agent, AgentEvent, AgentSettings, ApprovalRequest, MemorySessionStore, ToolOutput
from core.code import EXECUTE_TOOL, CodeToolset
from core.code.sandbox import check_sandbox
from core.hooks import Hook
from core.permissions import MemoryPermissionStore, PermissionManager
from core.providers.scripted import ScriptedProvider

Answer = bool | None | Callable[[ApprovalRequest], bool | None]
"""How to answer approval requests: always the same, or per request (None: leave it)."""

KERNEL_TIMEOUT = 90.0
"""Kernel start is ~3 s alone, 10 s and more when several start on two busy cores."""

E = TypeVar("E")

SANDBOXED = check_sandbox(True).works
"""Whether the defaults (``code.sandbox: auto``, network on) sandbox kernels here."""


async def ready(toolset: CodeToolset) -> CodeToolset:
    """Start ``toolset`` and check it sandboxes kernels wherever bubblewrap works: the
    code-action tests then test code actions in the sandbox."""
    await toolset.tools()
    await toolset.ready()
    if toolset.config.sandbox == "auto":
        assert (toolset.sandbox is not None) == SANDBOXED
    return toolset


def code_agent(
    toolset: CodeToolset,
    *,
    session: str = "test:code",
    allow: tuple[str, ...] = ("ipybox_reset",),
    execution_timeout: float = 60.0,
    approval_timeout: float = 60.0,
    hooks: Iterable[Hook] = (),
) -> Agent:
    """An agent on ``session`` whose model runs code through ``toolset``."""
    return Agent(
        ScriptedProvider(builtin_scripts()["code"]),
        settings=AgentSettings(
            model="code", execution_timeout=execution_timeout, approval_timeout=approval_timeout
        ),
        store=MemorySessionStore(),
        permissions=PermissionManager(
            store=MemoryPermissionStore(), session_key=session, defaults=allow
        ),
        session_key=session,
        workspace=toolset.paths.workspace,
        toolsets=[toolset],
        hooks=hooks,
    )


async def turn(
    agent: Agent, prompt: str, answer: Answer = True, timeout: float = KERNEL_TIMEOUT
) -> list[AgentEvent]:
    """Run one turn to its end, answering approvals with ``answer``."""

    async def play() -> list[AgentEvent]:
        events: list[AgentEvent] = []
        async for event in agent.stream(prompt):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                decision = answer(event) if callable(answer) else answer
                if decision is not None:
                    event.approve(decision)
        return events

    return await asyncio.wait_for(play(), timeout)


def of_type(events: list[AgentEvent], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def code_result(events: list[AgentEvent]) -> ToolOutput:
    """The code tool's result in ``events`` (exactly one)."""
    (output,) = [e for e in of_type(events, ToolOutput) if e.tool_name == EXECUTE_TOOL]
    return output


def two_shell_calls(output: str) -> str:
    """Code whose two threads each run a shell command at once: two approvals pending
    together; ``output`` is the expression printed at the end (over ``outs``)."""
    return (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "ip = get_ipython()\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    outs = list(pool.map(lambda n: ip.getoutput(f'echo t{n}'), [1, 2]))\n"
        f"print({output})"
    )
