"""The seed approval loop: every tool call asks, approve runs it, reject ends the turn."""

from __future__ import annotations

import asyncio
import contextlib

from core import ApprovalRequest, Response, ResponseChunk, ToolOutput
from core.messages import AssistantMessage, ToolResult, ToolStarted, UserMessage
from tests.unit.agent.helpers import Recorder, collect, make_agent, script

EMAIL = script(
    {
        "on": "user",
        "match": "email (?P<to>\\S+)",
        "text": "Sending.",
        "toolCalls": [{"name": "send_email", "arguments": {"to": "\\g<to>"}}],
    },
    {"on": "tool", "match": "sent to (.*)", "text": "Done: \\1"},
)


async def test_approved_call_runs_and_model_answers(recorder: Recorder) -> None:
    async with make_agent(EMAIL, recorder) as agent:
        events = await collect(agent.stream("email bob@example.com"))
    requests = [e for e in events if isinstance(e, ApprovalRequest)]
    # the request shows exactly what the model asked for
    assert [(r.tool_name, r.tool_args) for r in requests] == [
        ("send_email", {"to": "bob@example.com"})
    ]
    assert recorder.calls == [{"tool": "send_email", "to": "bob@example.com", "subject": "hi"}]
    outputs = [e for e in events if isinstance(e, ToolOutput)]
    assert outputs[0].content == "sent to bob@example.com" and not outputs[0].is_error
    responses = [e.content for e in events if isinstance(e, Response)]
    assert responses == ["Sending.", "Done: bob@example.com"]
    chunks = "".join(e.content for e in events if isinstance(e, ResponseChunk))
    assert chunks == "Sending.Done: bob@example.com"
    assert all(e.agent_id == "main" for e in events)


async def test_rejected_call_never_runs_and_ends_turn(recorder: Recorder) -> None:
    agent = make_agent(EMAIL, recorder)
    async with agent:
        events = await collect(agent.stream("email eve@example.com"), approve=False)
    assert recorder.calls == []
    last = events[-1]
    assert isinstance(last, Response)
    assert "Rejected" in last.content and "send_email" in last.content
    history = agent.history
    result = next(m for m in history if isinstance(m, ToolResult))
    assert result.is_error and "did not approve" in result.content
    assert isinstance(history[-1], AssistantMessage) and history[-1].content == last.content
    # only one model call was made: rejection does not go back to the model
    assert len(agent.provider.requests) == 1  # type: ignore[attr-defined]


async def test_approval_timeout_is_a_rejection(recorder: Recorder) -> None:
    from core import AgentSettings

    settings = AgentSettings(model="t", approval_timeout=0.05)
    async with make_agent(EMAIL, recorder, settings=settings) as agent:
        events = await collect(agent.stream("email x@y.z"), approve=None)
    request = next(e for e in events if isinstance(e, ApprovalRequest))
    assert request.decision is False
    assert recorder.calls == []
    assert "Rejected" in events[-1].content  # type: ignore[union-attr]


async def test_parallel_calls_are_all_asked_before_waiting(recorder: Recorder) -> None:
    sc = script(
        {
            "on": "user",
            "toolCalls": [
                {"name": "count", "arguments": {"n": 2}},
                {"name": "send_email", "arguments": {"to": "a@b.c"}},
            ],
        },
        {"on": "tool", "text": "ok"},
    )
    async with make_agent(sc, recorder) as agent:
        stream = agent.stream("go")
        first = await anext(stream)
        second = await anext(stream)
        assert isinstance(first, ApprovalRequest) and isinstance(second, ApprovalRequest)
        assert first.approval_id != second.approval_id
        # answers in reverse order
        second.approve(True)
        first.approve(True)
        rest = [e async for e in stream]
    assert [c["tool"] for c in recorder.calls] == ["count", "send_email"]
    assert [e.tool_name for e in rest if isinstance(e, ToolOutput)] == ["count", "send_email"]


async def test_one_rejected_of_two_runs_the_other_then_ends(recorder: Recorder) -> None:
    sc = script(
        {
            "on": "user",
            "toolCalls": [
                {"name": "count", "arguments": {"n": 1}},
                {"name": "send_email", "arguments": {"to": "a@b.c"}},
            ],
        },
        {"on": "tool", "text": "should not be reached"},
    )
    async with make_agent(sc, recorder) as agent:
        events = []
        async for event in agent.stream("go"):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                event.approve(event.tool_name == "count")
    assert [c["tool"] for c in recorder.calls] == ["count"]
    assert "send_email" in events[-1].content  # type: ignore[union-attr]
    assert not any(isinstance(e, Response) and "reached" in e.content for e in events)


async def test_second_approve_changes_nothing(recorder: Recorder) -> None:
    async with make_agent(EMAIL, recorder) as agent:
        async for event in agent.stream("email q@w.e"):
            if isinstance(event, ApprovalRequest):
                assert event.approve(False) is True
                assert event.approve(True) is False
    assert recorder.calls == []


async def test_history_records_started_marker_before_result(recorder: Recorder) -> None:
    async with make_agent(EMAIL, recorder) as agent:
        await collect(agent.stream("email m@n.o"))
    kinds = [type(m).__name__ for m in agent.history]
    assert kinds == [
        "UserMessage",
        "AssistantMessage",
        "ToolStarted",
        "ToolResult",
        "AssistantMessage",
    ]
    assert isinstance(agent.history[0], UserMessage)
    assert isinstance(agent.history[2], ToolStarted)


async def test_abandoning_the_stream_keeps_a_resumable_checkpoint(recorder: Recorder) -> None:
    from core import MemorySessionStore

    store = MemorySessionStore()
    async with make_agent(EMAIL, recorder, store=store) as agent:
        stream = agent.stream("email r@s.t")
        async for event in stream:
            if isinstance(event, ApprovalRequest):
                break
        await stream.aclose()
    assert recorder.calls == []
    # a fresh agent (another process, later) resumes from the stored history
    async with make_agent(EMAIL, recorder, store=store) as again:
        events = await collect(again.stream(None))
    assert next(type(e).__name__ for e in events) == "ApprovalRequest"
    assert recorder.calls == [{"tool": "send_email", "to": "r@s.t", "subject": "hi"}]
    assert events[-1].content == "Done: r@s.t"  # type: ignore[union-attr]


async def test_resume_with_a_decision_given_elsewhere_does_not_ask(recorder: Recorder) -> None:
    from core import MemorySessionStore
    from core.messages import pending_tool_calls

    store = MemorySessionStore()
    async with make_agent(EMAIL, recorder, store=store) as agent:
        stream = agent.stream("email u@v.w")
        async for event in stream:
            if isinstance(event, ApprovalRequest):
                break
        await stream.aclose()
        pending = pending_tool_calls(agent.history)
    assert pending is not None
    call_id = pending[1][0].id
    async with make_agent(EMAIL, recorder, store=store) as again:
        events = await collect(again.stream(None, decisions={call_id: True}), approve=None)
    assert not any(isinstance(e, ApprovalRequest) for e in events)
    assert len(recorder.calls) == 1


async def test_cancelled_wait_leaves_checkpoint(recorder: Recorder) -> None:
    async with make_agent(EMAIL, recorder) as agent:

        async def consume() -> None:
            async for _ in agent.stream("email c@d.e"):
                pass  # never decides

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        from core.messages import pending_tool_calls

        assert pending_tool_calls(agent.history) is not None
    assert recorder.calls == []
