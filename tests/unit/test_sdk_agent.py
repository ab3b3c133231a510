"""A direct ``Agent(provider, ...)`` built from what ``facio`` exports alone: its
timeouts and subagents given directly, as the seed (freeact-shaped) API has them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from facio import (
    Agent,
    AgentEvent,
    AgentSettings,
    ApprovalRequest,
    MemorySessionStore,
    PermissionManager,
    Response,
    Script,
    ScriptedProvider,
    ScriptRule,
    ToolOutput,
    tool,
)

DELEGATE = ScriptRule.model_validate(
    {
        "on": "user",
        "match": "^delegate (?P<task>.+)",
        "toolCalls": [{"name": "subagent_task", "arguments": {"prompt": "\\g<task>"}}],
    }
)
TWICE = ScriptRule.model_validate(
    {
        "on": "user",
        "match": "^twice",
        "toolCalls": [
            {"name": "subagent_task", "arguments": {"prompt": "nap 0.2"}},
            {"name": "subagent_task", "arguments": {"prompt": "nap 0.2"}},
        ],
    }
)
NAP = ScriptRule.model_validate(
    {
        "on": "user",
        "match": "^nap (?P<s>\\S+)",
        "toolCalls": [{"name": "nap", "arguments": {"seconds": "\\g<s>"}}],
    }
)
ECHO = ScriptRule(on="tool", match="(?s)(.*)", text="said: \\1")
SCRIPT = Script(rules=(DELEGATE, TWICE, NAP, ECHO), fallback="nothing to do")


class Naps:
    """The ``nap`` tool, counting how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

        @tool
        async def nap(seconds: float) -> str:
            """Sleep a while.

            Args:
                seconds: How long.
            """
            self.running += 1
            self.most = max(self.most, self.running)
            try:
                await asyncio.sleep(seconds)
            finally:
                self.running -= 1
            return "rested"

        self.tool = nap


def _agent(naps: Naps, workspace: Path, **kwargs: Any) -> Agent:
    # rules in <workspace>/.facio/permissions.json; these two run without asking
    permissions = PermissionManager(
        workspace, session_key="sdk:1", defaults=("nap", "subagent_task")
    )
    return Agent(
        ScriptedProvider(SCRIPT),
        tools=[naps.tool],
        store=MemorySessionStore(),
        session_key="sdk:1",
        permissions=permissions,
        **kwargs,
    )


async def _turn(agent: Agent, prompt: str) -> list[AgentEvent]:
    events: list[AgentEvent] = []
    async with agent:
        async for event in agent.stream(prompt):
            events.append(event)
    return events


def _offered(agent: Agent) -> list[str]:
    provider = agent.provider
    assert isinstance(provider, ScriptedProvider)
    return [spec.name for spec in provider.requests[0].tools]


async def test_execution_timeout_given_directly_cuts_a_tool_call_short(tmp_path: Path) -> None:
    agent = _agent(
        Naps(), tmp_path, settings=AgentSettings(execution_timeout=60), execution_timeout=0.05
    )
    assert agent.settings.execution_timeout == 0.05  # the direct value wins
    started = time.monotonic()
    events = await _turn(agent, "nap 5")
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and output.content == "nap timed out after 0.05 s"
    assert time.monotonic() - started < 3


async def test_approval_timeout_given_directly_rejects_an_unanswered_request() -> None:
    naps = Naps()
    agent = Agent(
        ScriptedProvider(SCRIPT),
        tools=[naps.tool],
        approval_timeout=0.05,  # and nobody answers
    )
    started = time.monotonic()
    events = await _turn(agent, "nap 0")
    (request,) = [e for e in events if isinstance(e, ApprovalRequest)]
    assert request.decision is False and naps.most == 0
    last = events[-1]
    assert isinstance(last, Response) and last.content.startswith("Rejected")
    assert time.monotonic() - started < 3


async def test_without_max_subagents_subagent_task_is_not_offered(tmp_path: Path) -> None:
    for kwargs in ({}, {"max_subagents": 0}):
        agent = _agent(Naps(), tmp_path, **kwargs)
        events = await _turn(agent, "delegate nap 0")
        assert _offered(agent) == ["nap"]
        output = next(e for e in events if isinstance(e, ToolOutput))
        assert output.is_error and "unknown tool 'subagent_task'" in output.content


async def test_max_subagents_offers_subagent_task_and_bounds_the_children(
    tmp_path: Path,
) -> None:
    naps = Naps()
    agent = _agent(naps, tmp_path, max_subagents=1)
    events = await _turn(agent, "twice")
    assert _offered(agent) == ["nap", "subagent_task"]
    children = {e.agent_id for e in events if isinstance(e, ToolOutput) and e.tool_name == "nap"}
    assert len(children) == 2 and all(c.startswith("sub-") for c in children)
    assert naps.most == 1  # one child at a time
    # a child has the parent's tools but no subagents of its own
    assert isinstance(agent.provider, ScriptedProvider)
    child_tools = {
        tuple(spec.name for spec in r.tools)
        for r in agent.provider.requests
        if r.messages[0].content.startswith("nap")
    }
    assert child_tools == {("nap",)}
    last = events[-1]
    assert isinstance(last, Response) and last.agent_id == "main"


async def test_two_subagents_may_run_side_by_side(tmp_path: Path) -> None:
    naps = Naps()
    await _turn(_agent(naps, tmp_path, max_subagents=2), "twice")
    assert naps.most == 2


def test_bad_subagent_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_subagents must be 0 or more"):
        _agent(Naps(), tmp_path, max_subagents=-1)
    naps = Naps()

    @tool
    def subagent_task(prompt: str) -> str:
        """Mine."""
        return prompt

    with pytest.raises(ValueError, match="give one or the other"):
        Agent(ScriptedProvider(SCRIPT), tools=[naps.tool, subagent_task], max_subagents=1)
