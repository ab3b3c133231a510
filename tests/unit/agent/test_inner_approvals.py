"""Approvals raised inside a running tool (``ToolContext.ask``): code calling MCP tools,
shell commands, subagents. Same hooks, rules and person as a tool call; never parkable;
a rejection ends the turn after the tool returns; the execution timeout can be the
tool's own (approval waits excluded)."""

from __future__ import annotations

import asyncio

from core import AgentSettings, ApprovalRequest, MemorySessionStore, Response, Tool, ToolOutput
from core.agent import Agent
from core.permissions import PermissionManager
from core.permissions.store import MemoryPermissionStore
from core.providers.scripted import ScriptedProvider
from core.tools.tool import ToolContext
from tests.unit.agent.helpers import collect, script

RUN = script(
    {"on": "user", "match": "go", "toolCalls": [{"name": "runner", "arguments": {}}]},
    {"on": "tool", "match": "(.*)", "text": "result: \\1"},
)


def _runner(log: list[str], *, inner: int = 2, pause: float = 0.0, parallel: bool = False) -> Tool:
    async def runner(context: ToolContext) -> str:
        """Run something that asks twice from inside."""
        answers = []
        for i in range(inner):
            request = ApprovalRequest(
                tool_name="files_delete",
                tool_args={"path": f"/tmp/{i}"},
                tool_call_id=f"{context.tool_call_id}/{i}",
            )
            allowed = await context.ask(request)
            answers.append(f"{i}:{'yes' if allowed else 'no'}")
            if allowed:
                log.append(f"deleted {i}")
        await asyncio.sleep(pause)
        return ",".join(answers)

    return Tool(runner, manages_timeout=pause > 0, parallel=parallel)


def _agent(tool: Tool, **settings: float) -> Agent:
    return Agent(
        ScriptedProvider(RUN),
        tools=[tool],
        store=MemorySessionStore(),
        settings=AgentSettings(model="t", **{"approval_timeout": 5.0, **settings}),
        permissions=PermissionManager(
            store=MemoryPermissionStore(), session_key="s", defaults=("runner",)
        ),
        session_key="s",
    )


async def test_inner_requests_reach_the_stream_not_parkable_and_run_when_approved() -> None:
    log: list[str] = []
    async with _agent(_runner(log)) as agent:
        events = await collect(agent.stream("go"), approve=True)
    inner = [e for e in events if isinstance(e, ApprovalRequest)]
    assert [(r.tool_name, r.tool_args, r.parkable) for r in inner] == [
        ("files_delete", {"path": "/tmp/0"}, False),
        ("files_delete", {"path": "/tmp/1"}, False),
    ]
    assert inner[0].tool_call_id.endswith("/0") and inner[0].tool_call_id != "/0"
    assert log == ["deleted 0", "deleted 1"]
    assert isinstance(events[-1], Response) and events[-1].content == "result: 0:yes,1:yes"


async def test_a_rejected_inner_request_does_not_run_and_ends_the_turn() -> None:
    log: list[str] = []
    agent = _agent(_runner(log))
    async with agent:
        events: list[object] = []
        async for event in agent.stream("go"):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                event.approve(event.tool_args["path"] == "/tmp/1")
    assert log == ["deleted 1"]
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.content == "0:no,1:yes"  # the tool saw the refusal and went on
    last = events[-1]
    assert isinstance(last, Response) and last.content.startswith("Rejected")
    assert "files_delete" in last.content
    assert len(agent.provider.requests) == 1  # type: ignore[attr-defined]


async def test_a_permission_rule_answers_inner_requests_without_asking() -> None:
    log: list[str] = []
    agent = _agent(_runner(log))
    async with agent:
        assert agent.permissions is not None
        await agent.permissions.allow_session("files_delete")
        events = await collect(agent.stream("go"), approve=None)
    assert not [e for e in events if isinstance(e, ApprovalRequest)]
    assert log == ["deleted 0", "deleted 1"]


async def test_an_unanswered_inner_request_times_out_as_a_rejection() -> None:
    log: list[str] = []
    async with _agent(_runner(log, inner=1), approval_timeout=0.05) as agent:
        events = await collect(agent.stream("go"), approve=None)
    assert log == []
    assert isinstance(events[-1], Response) and "Rejected" in events[-1].content


async def test_approval_waits_do_not_count_for_a_tool_that_manages_its_timeout() -> None:
    seen: list[float | None] = []

    async def waits(context: ToolContext) -> str:
        """Ask, then work a little."""
        seen.append(context.execution_timeout)
        await context.ask(ApprovalRequest(tool_name="x", tool_args={}))
        return "ok"

    own = Tool(waits, name="runner", manages_timeout=True)
    async with _agent(own, execution_timeout=0.05) as agent:
        events: list[object] = []
        async for event in agent.stream("go"):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                await asyncio.sleep(0.2)  # the person takes longer than the execution timeout
                event.approve(True)
    assert seen == [0.05]
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.content == "ok" and not output.is_error


async def test_other_tools_are_still_cut_off_by_the_agent() -> None:
    async def sleeper() -> str:
        """Sleep too long."""
        await asyncio.sleep(1)
        return "never"

    async with _agent(Tool(sleeper, name="runner"), execution_timeout=0.05) as agent:
        events = await collect(agent.stream("go"))
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "timed out after 0.05 s" in output.content


async def test_outside_an_agent_asking_is_denied() -> None:
    request = ApprovalRequest(tool_name="x", tool_args={})
    assert await ToolContext().ask(request) is False
    assert request.decision is False


async def test_closing_the_stream_at_an_inner_request_of_a_parallel_tool_leaves_no_task() -> None:
    log: list[str] = []
    async with _agent(_runner(log, parallel=True)) as agent:
        stream = agent.stream("go")
        async for event in stream:
            if isinstance(event, ApprovalRequest):
                break
        await stream.aclose()
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert log == []
