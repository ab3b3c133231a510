"""Bad tool calls from the model become tool errors; the turn goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core import Agent, AgentSettings, ApprovalRequest, MemorySessionStore, Response, ToolOutput
from core.errors import ToolError
from core.events import CodeExecutionOutputChunk
from core.providers.scripted import ScriptedProvider
from core.tools import Tool, ToolContext
from core.tools.builtin import LIST_NOTES
from tests.unit.agent.helpers import Recorder, collect, make_agent, script

ECHO_ERROR = {"on": "tool", "match": "(?s)(?P<r>.*)", "text": "tool said: \\g<r>"}


async def test_unknown_tool_is_reported_to_the_model(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "launch_rockets"}]}, ECHO_ERROR)
    async with make_agent(sc, recorder) as agent:
        events = await collect(agent.stream("go"))
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "unknown tool 'launch_rockets'" in output.content
    assert "send_email" in output.content  # lists what exists
    final = events[-1]
    assert isinstance(final, Response) and final.content.startswith("tool said: unknown tool")


async def test_invalid_arguments_are_reported_to_the_model(recorder: Recorder) -> None:
    sc = script(
        {"on": "user", "toolCalls": [{"name": "count", "arguments": {"n": "many"}}]},
        ECHO_ERROR,
    )
    async with make_agent(sc, recorder) as agent:
        events = await collect(agent.stream("go"))
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "invalid arguments for count" in output.content
    assert "n:" in output.content
    assert recorder.calls == []
    assert isinstance(events[-1], Response)


async def test_arguments_that_are_not_json(recorder: Recorder) -> None:
    from core import Agent, MemorySessionStore
    from core.messages import AssistantMessage, ToolCall
    from core.providers.base import ModelTurn
    from core.providers.scripted import ScriptedProvider

    class BrokenJson(ScriptedProvider):
        async def stream(self, request):  # type: ignore[no-untyped-def, override]
            if len(self.requests) == 0:
                self.requests.append(request)
                call = ToolCall(id="c1", name="count", arguments='{"n": 3')
                yield ModelTurn(
                    message=AssistantMessage(tool_calls=(call,)), stop_reason="tool_use"
                )
                return
            async for part in super().stream(request):
                yield part

    agent = Agent(
        BrokenJson(script(ECHO_ERROR)), tools=recorder.tools(), store=MemorySessionStore()
    )
    events = await collect(agent.stream("go"))
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "not a JSON object" in output.content
    assert recorder.calls == []


async def test_a_failing_tool_is_a_result_not_a_crash(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "boom"}]}, ECHO_ERROR)
    async with make_agent(sc, recorder) as agent:
        events = await collect(agent.stream("go"))
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "RuntimeError: kaput" in output.content
    assert events[-1].content.startswith("tool said: boom failed")  # type: ignore[union-attr]


async def test_tool_timeout(recorder: Recorder) -> None:
    sc = script(
        {"on": "user", "toolCalls": [{"name": "slow", "arguments": {"seconds": 5}}]}, ECHO_ERROR
    )
    settings = AgentSettings(model="t", execution_timeout=0.05)
    async with make_agent(sc, recorder, settings=settings) as agent:
        events = await collect(agent.stream("go"))
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "timed out after 0.05 s" in output.content


async def test_events_emitted_by_a_tool_stream_before_its_output() -> None:
    from core import Agent, MemorySessionStore
    from core.providers.scripted import ScriptedProvider

    async def run_code(code: str, context: ToolContext) -> str:
        """Pretend to run code."""
        for part in ("4", "2\n"):
            await context.emit(CodeExecutionOutputChunk(text=part, agent_id=context.agent_id))
            await asyncio.sleep(0)
        return "42"

    sc = script(
        {"on": "user", "toolCalls": [{"name": "run_code", "arguments": {"code": "print(6*7)"}}]},
        ECHO_ERROR,
    )
    agent = Agent(ScriptedProvider(sc), tools=[Tool(run_code)], store=MemorySessionStore())
    events = await collect(agent.stream("go"))
    names = [type(e).__name__ for e in events if not type(e).__name__.endswith("ResponseChunk")]
    assert names == [
        "ApprovalRequest",
        "CodeExecutionOutputChunk",
        "CodeExecutionOutputChunk",
        "ToolOutput",
        "Response",
    ]
    assert events[-1].content == "tool said: 42"  # type: ignore[union-attr]


async def test_max_turns_stops_and_says_so(recorder: Recorder) -> None:
    from core import PermissionManager
    from core.permissions import MemoryPermissionStore

    looping = script({"toolCalls": [{"name": "count", "arguments": {"n": 1}}]})
    permissions = PermissionManager(store=MemoryPermissionStore({"count"}))
    async with make_agent(looping, recorder, permissions=permissions) as agent:
        events = await collect(agent.stream("go", max_turns=3), approve=None)
    assert len(recorder.calls) == 3
    assert "max_turns" in events[-1].content  # type: ignore[union-attr]
    # the next message continues normally: history is valid
    async with make_agent(looping, recorder, permissions=permissions) as agent:
        await collect(agent.stream("again", max_turns=1), approve=None)


async def test_tool_errors_show_workspace_paths_not_the_servers(tmp_path: Path) -> None:
    """A tool's error reaches the model and people: paths in it are relative to the
    workspace (what the tools and code work in), never the server's absolute ones."""
    workspace = tmp_path / "ws"

    def read_file(path: str, context: ToolContext) -> str:
        """Read a file of the workspace."""
        return (context.workspace / path).read_text(encoding="utf-8")

    def check(context: ToolContext) -> str:
        """Fail the way tools word their own errors."""
        raise ToolError(f"cannot use {context.workspace / 'notes'}: locked ({context.workspace})")

    (workspace / "notes" / "list-me.md").mkdir(parents=True)
    calls = [
        {"name": "read_file", "arguments": {"path": "notes/missing.md"}},
        {"name": "check"},
        {"name": "list_notes"},
    ]
    sc = script({"on": "user", "toolCalls": calls}, ECHO_ERROR)
    agent = Agent(
        ScriptedProvider(sc),
        tools=[Tool(read_file), Tool(check), LIST_NOTES],
        store=MemorySessionStore(),
        session_key="list-me",  # its notes "file" is a folder: reading it fails
        workspace=workspace,
    )
    events = await collect(agent.stream("go"))
    missing, locked, listed = [e for e in events if isinstance(e, ToolOutput)]
    assert missing.is_error and locked.is_error and listed.is_error
    assert missing.content == (
        "read_file failed: FileNotFoundError: No such file or directory: notes/missing.md"
    )
    assert locked.content == "cannot use notes: locked (.)"
    assert listed.content.endswith("IsADirectoryError: Is a directory: notes/list-me.md")
    for output in (missing, locked, listed):
        assert str(tmp_path) not in output.content
