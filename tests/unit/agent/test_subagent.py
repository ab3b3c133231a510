"""``subagent_task``: a child agent whose events and approvals flow through the parent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from core import (
    Agent,
    AgentSettings,
    ApprovalRequest,
    MemorySessionStore,
    Response,
    ResponseChunk,
    Tool,
    ToolOutput,
)
from core.agent.subagent import SubagentTool
from core.providers.scripted import ScriptedProvider
from core.tools.tool import ToolContext
from tests.unit.agent.helpers import script

PARENT = script(
    {
        "on": "user",
        "match": "delegate (?P<task>.+)",
        "toolCalls": [{"name": "subagent_task", "arguments": {"prompt": "\\g<task>"}}],
    },
    {
        "on": "user",
        "match": "twice",
        "toolCalls": [
            {"name": "subagent_task", "arguments": {"prompt": "slow one"}},
            {"name": "subagent_task", "arguments": {"prompt": "slow two"}},
        ],
    },
    {"on": "tool", "tool": "subagent_task", "match": "(?s)(.*)", "text": "The subagent said: \\1"},
)

CHILD = script(
    {
        "on": "user",
        "match": "email (?P<to>\\S+)",
        "text": "Emailing.",
        "toolCalls": [{"name": "send_email", "arguments": {"to": "\\g<to>"}}],
    },
    {"on": "tool", "tool": "send_email", "match": "(.*)", "text": "Child done: \\1"},
    {"on": "user", "match": "slow", "delay": 0.2, "text": "slow done"},
    {"on": "user", "match": "explode", "text": "x", "toolCalls": [{"name": "nope"}]},
    fallback="child fallback",
)


class World:
    """A parent agent with a subagent tool whose children are recorded."""

    def __init__(self, *, max_concurrent: int = 5) -> None:
        self.sent: list[str] = []
        self.children: list[str] = []
        self.closed: list[str] = []
        self.running = 0
        self.most_running = 0

        def send_email(to: str) -> str:
            """Send an email."""
            self.sent.append(to)
            return f"sent to {to}"

        self.child_tools = [Tool(send_email)]
        self.subagents = SubagentTool(self._child, max_concurrent=max_concurrent)

    @asynccontextmanager
    async def _child(self, agent_id: str, context: ToolContext) -> AsyncIterator[Agent]:
        self.children.append(agent_id)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        child = Agent(
            ScriptedProvider(CHILD),
            tools=self.child_tools,
            settings=AgentSettings(model="t", approval_timeout=5),
            store=MemorySessionStore(),
            session_key=context.session_key,
            agent_id=agent_id,
        )
        await child.start()
        try:
            yield child
        finally:
            self.running -= 1
            self.closed.append(agent_id)

    def parent(self) -> Agent:
        return Agent(
            ScriptedProvider(PARENT),
            tools=[self.subagents.tool],
            settings=AgentSettings(model="t", approval_timeout=5),
            store=MemorySessionStore(),
            session_key="s:1",
        )


async def _drive(agent: Agent, prompt: str, *, approve: bool) -> list[object]:
    events: list[object] = []
    async for event in agent.stream(prompt):
        events.append(event)
        if isinstance(event, ApprovalRequest):
            # the parent's own call to subagent_task is approved; the child's per `approve`
            event.approve(approve if event.agent_id != "main" else True)
    return events


async def test_child_events_and_approvals_carry_its_sub_id() -> None:
    world = World()
    async with world.parent() as parent:
        events = await _drive(parent, "delegate email ann@example.com", approve=True)
    (child_id,) = world.children
    assert child_id.startswith("sub-") and len(child_id) == 12
    requests = [e for e in events if isinstance(e, ApprovalRequest)]
    assert [(r.agent_id, r.tool_name, r.parkable) for r in requests] == [
        ("main", "subagent_task", True),
        (child_id, "send_email", False),
    ]
    assert requests[1].tool_args == {"to": "ann@example.com"}
    assert world.sent == ["ann@example.com"]
    child_chunks = "".join(
        e.content for e in events if isinstance(e, ResponseChunk) and e.agent_id == child_id
    )
    assert child_chunks == "Emailing.Child done: sent to ann@example.com"
    child_outputs = [e for e in events if isinstance(e, ToolOutput) and e.agent_id == child_id]
    assert [o.tool_name for o in child_outputs] == ["send_email"]
    last = events[-1]
    assert isinstance(last, Response) and last.agent_id == "main"
    assert last.content == "The subagent said: Child done: sent to ann@example.com"
    assert world.closed == [child_id]  # the child's toolsets were released


async def test_a_rejected_child_call_never_runs_and_ends_the_parent_turn() -> None:
    world = World()
    async with world.parent() as parent:
        events = await _drive(parent, "delegate email eve@example.com", approve=False)
    assert world.sent == []
    last = events[-1]
    assert isinstance(last, Response) and last.agent_id == "main"
    assert last.content.startswith("Rejected") and "send_email" in last.content


async def test_parallel_subagent_calls_run_side_by_side() -> None:
    world = World(max_concurrent=5)
    async with world.parent() as parent:
        events = await _drive(parent, "twice", approve=True)
    assert len(world.children) == 2 and world.most_running == 2
    outputs = [e for e in events if isinstance(e, ToolOutput) and e.agent_id == "main"]
    assert [o.content for o in outputs] == ["slow done", "slow done"]
    assert isinstance(events[-1], Response)
    # both calls have their result in the history, after both were marked started
    roles = [type(m).__name__ for m in parent.history]
    assert roles.count("ToolStarted") == 2 and roles.count("ToolResult") == 2


async def test_at_most_max_subagents_run_at_once() -> None:
    world = World(max_concurrent=1)
    async with world.parent() as parent:
        events = await _drive(parent, "twice", approve=True)
    assert len(world.children) == 2 and world.most_running == 1
    assert isinstance(events[-1], Response)


async def test_a_failing_ask_is_a_rejection_not_a_hang() -> None:
    from core import Hook, RunContext

    class Broken(Hook):
        async def on_approval_request(
            self, ctx: RunContext, request: ApprovalRequest
        ) -> bool | None:
            if request.agent_id != "main":
                raise RuntimeError("policy service down")
            return True

    world = World()
    parent = Agent(
        ScriptedProvider(PARENT),
        tools=[world.subagents.tool],
        settings=AgentSettings(model="t", approval_timeout=30),
        store=MemorySessionStore(),
        session_key="s:1",
        hooks=[Broken()],
    )
    async with parent:
        events = await asyncio.wait_for(_drive(parent, "delegate email x@y.z", approve=True), 10)
    assert world.sent == []  # denied, at once, not after the 30 s approval timeout
    assert isinstance(events[-1], Response) and events[-1].content.startswith("Rejected")


async def test_parallel_children_run_side_by_side_within_the_limit() -> None:
    world = World(max_concurrent=2)
    context = ToolContext(session_key="s:1")
    answers = await asyncio.gather(
        world.subagents.subagent_task("slow a", context),
        world.subagents.subagent_task("slow b", context),
    )
    assert answers == ["slow done", "slow done"]
    assert world.most_running == 2  # both children were running at the same time


async def test_a_failing_child_is_a_tool_error_for_the_parent() -> None:
    world = World()

    @asynccontextmanager
    async def broken(agent_id: str, context: ToolContext) -> AsyncIterator[Agent]:
        from core.errors import AgentError

        raise AgentError("the child's model is unreachable")
        yield  # pragma: no cover

    world.subagents.factory = broken
    async with world.parent() as parent:
        events = await _drive(parent, "delegate anything", approve=True)
    output = next(e for e in events if isinstance(e, ToolOutput) and e.agent_id == "main")
    assert output.is_error
    assert "subagent sub-" in output.content and "unreachable" in output.content


def test_a_subagent_tool_allows_at_least_one_child() -> None:
    # 0 subagents is no subagent_task at all (Agent(max_subagents=0) does not offer it)
    with pytest.raises(ValueError, match="at least 1"):
        World(max_concurrent=0)
