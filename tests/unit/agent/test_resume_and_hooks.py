"""Crash recovery from the history, policy by permissions and hooks, misuse."""

from __future__ import annotations

import asyncio

import pytest

from core import (
    AgentError,
    ApprovalRequest,
    Hook,
    MemorySessionStore,
    PermissionManager,
    RunContext,
    ToolCallInfo,
    ToolOutput,
)
from core.messages import AssistantMessage, ToolCall, ToolResult, ToolStarted, UserMessage
from core.permissions import MemoryPermissionStore
from core.providers.errors import ServerError
from tests.unit.agent.helpers import Recorder, collect, make_agent, script

ECHO = {"on": "tool", "match": "(?s)(?P<r>.*)", "text": "tool said: \\g<r>"}
CALL = ToolCall(id="c1", name="send_email", arguments='{"to": "x@y.z"}')


async def _crashed_store(*, started: bool) -> MemorySessionStore:
    store = MemorySessionStore()
    messages = [UserMessage(content="mail x"), AssistantMessage(tool_calls=(CALL,))]
    if started:
        messages.append(ToolStarted(tool_call_id="c1"))
    await store.replace("test:1", messages)
    return store


async def test_a_call_started_before_a_crash_is_not_run_again(recorder: Recorder) -> None:
    store = await _crashed_store(started=True)
    async with make_agent(script(ECHO), recorder, store=store) as agent:
        events = await collect(agent.stream(None))
    assert recorder.calls == []
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.is_error and "may or may not have taken effect" in output.content
    assert events[-1].content.startswith("tool said: This tool call was interrupted")  # type: ignore[union-attr]


async def test_an_unstarted_call_asks_again_after_a_crash(recorder: Recorder) -> None:
    store = await _crashed_store(started=False)
    async with make_agent(script(ECHO), recorder, store=store) as agent:
        events = await collect(agent.stream(None))
    assert isinstance(events[0], ApprovalRequest) and events[0].tool_call_id == "c1"
    assert recorder.calls == [{"tool": "send_email", "to": "x@y.z", "subject": "hi"}]


async def test_a_new_message_closes_undecided_calls(recorder: Recorder) -> None:
    store = await _crashed_store(started=False)
    async with make_agent(script(fallback="hello again"), recorder, store=store) as agent:
        events = await collect(agent.stream("never mind"))
        history = agent.history
    assert recorder.calls == []
    assert events[-1].content == "hello again"  # type: ignore[union-attr]
    closed = next(m for m in history if isinstance(m, ToolResult))
    assert closed.is_error and "new message" in closed.content
    # the model saw every tool call answered before the new message
    request = agent.provider.requests[-1]  # type: ignore[attr-defined]
    roles = [m.role for m in request.messages]
    assert roles == ["user", "assistant", "tool", "user"]


async def test_continue_with_nothing_unfinished_does_nothing(recorder: Recorder) -> None:
    async with make_agent(script(fallback="hi"), recorder) as agent:
        assert await collect(agent.stream(None)) == []
        await collect(agent.stream("hello"))
        assert not agent.unfinished()
        assert await collect(agent.stream(None)) == []
    assert len(agent.provider.requests) == 1  # type: ignore[attr-defined]


async def test_continue_answers_a_prompt_the_model_never_answered(recorder: Recorder) -> None:
    store = MemorySessionStore()
    await store.replace("test:1", [UserMessage(content="hello")])  # crashed mid model call
    async with make_agent(script(fallback="hi there"), recorder, store=store) as agent:
        assert agent.unfinished()
        events = await collect(agent.stream(None))
    assert events[-1].content == "hi there"  # type: ignore[union-attr]
    assert [m.role for m in agent.history] == ["user", "assistant"]


async def test_one_stream_at_a_time(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "send_email", "arguments": {"to": "a@b"}}]})
    async with make_agent(sc, recorder) as agent:
        first = agent.stream("a")
        await anext(first)  # suspended on an approval
        with pytest.raises(AgentError, match="already streaming"):
            await anext(agent.stream("b"))
        await first.aclose()


async def test_cancel_during_tool_run_marks_it_interrupted(recorder: Recorder) -> None:
    sc = script(
        {
            "on": "user",
            "match": "slow",
            "toolCalls": [{"name": "slow", "arguments": {"seconds": 10}}],
        },
        {"on": "user", "text": "fine"},
    )
    async with make_agent(sc, recorder) as agent:

        async def consume() -> None:
            await collect(agent.stream("slow please"))

        task = asyncio.create_task(consume())
        while not recorder.calls:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        events = await collect(agent.stream("what happened?"))
        history = agent.history
    note = next(m for m in history if isinstance(m, ToolResult))
    assert "interrupted" in note.content
    assert events[-1].content == "fine"  # type: ignore[union-attr]


async def test_permission_rule_runs_without_asking(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "count", "arguments": {"n": 2}}]}, ECHO)
    permissions = PermissionManager(store=MemoryPermissionStore(), defaults=["co*"])
    async with make_agent(sc, recorder, permissions=permissions) as agent:
        events = await collect(agent.stream("go"), approve=None)
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    assert recorder.calls == [{"tool": "count", "n": 2}]


class Recording(Hook):
    def __init__(self, decision: bool | None = None) -> None:
        self.seen: list[str] = []
        self.decision = decision

    async def before_run(self, ctx: RunContext) -> None:
        self.seen.append(f"before_run:{ctx.prompt}")

    async def after_run(self, ctx: RunContext, response: str) -> None:
        self.seen.append(f"after_run:{response}")

    async def before_tool_call(self, ctx: RunContext, call: ToolCallInfo) -> None:
        self.seen.append(f"before_tool:{call.tool_name}")

    async def after_tool_call(
        self, ctx: RunContext, call: ToolCallInfo, output: ToolOutput
    ) -> None:
        self.seen.append(f"after_tool:{output.content}")

    async def on_approval_request(self, ctx: RunContext, request: ApprovalRequest) -> bool | None:
        self.seen.append(f"approval:{request.tool_name}")
        return self.decision

    async def on_error(self, ctx: RunContext, error: BaseException) -> None:
        self.seen.append(f"error:{type(error).__name__}")


async def test_hooks_see_the_lifecycle_and_can_decide(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "count", "arguments": {"n": 1}}]}, ECHO)
    observer, policy = Recording(), Recording(decision=True)
    async with make_agent(sc, recorder, hooks=[observer, policy]) as agent:
        events = await collect(agent.stream("go"), approve=None)
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    assert observer.seen == [
        "before_run:go",
        "approval:count",
        "before_tool:count",
        "after_tool:[1]",
        "after_run:tool said: [1]",
    ]


async def test_hook_rejection_ends_the_turn(recorder: Recorder) -> None:
    sc = script({"on": "user", "toolCalls": [{"name": "count", "arguments": {"n": 1}}]}, ECHO)
    async with make_agent(sc, recorder, hooks=[Recording(decision=False)]) as agent:
        events = await collect(agent.stream("go"), approve=None)
    assert recorder.calls == []
    assert "Rejected" in events[-1].content  # type: ignore[union-attr]


async def test_on_error_hook_sees_provider_failures(recorder: Recorder) -> None:
    from core.providers.scripted import ScriptedProvider

    class Failing(ScriptedProvider):
        async def stream(self, request):  # type: ignore[no-untyped-def, override]
            raise ServerError(503, "overloaded", provider="test")
            yield  # pragma: no cover

    hook = Recording()
    agent = make_agent(script(), recorder, hooks=[hook])
    agent.provider = Failing(script())
    with pytest.raises(ServerError):
        await collect(agent.stream("go"))
    assert hook.seen == ["before_run:go", "error:ServerError"]
    # the person's message is kept for the retry
    assert isinstance(agent.history[-1], UserMessage)


async def test_reused_tool_call_ids_across_turns_are_not_mistaken_for_crashes(
    recorder: Recorder,
) -> None:
    """Some servers number tool calls per response ("call_0"); old markers must not count."""
    store = MemorySessionStore()
    await store.replace(
        "test:1",
        [
            UserMessage(content="earlier"),
            AssistantMessage(tool_calls=(CALL,)),
            ToolStarted(tool_call_id="c1"),
            ToolResult(tool_call_id="c1", name="send_email", content="sent"),
            AssistantMessage(content="done"),
            UserMessage(content="again"),
            AssistantMessage(tool_calls=(CALL,)),  # same id "c1", not started yet
        ],
    )
    async with make_agent(script(ECHO), recorder, store=store) as agent:
        events = await collect(agent.stream(None))
    assert isinstance(events[0], ApprovalRequest)
    assert len(recorder.calls) == 1
