"""The order of a step's events: the whole thought comes before the answer streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from core import (
    Agent,
    AgentEvent,
    AgentSettings,
    ApprovalRequest,
    Response,
    ResponseChunk,
    Thoughts,
    ThoughtsChunk,
    ToolOutput,
)
from core.messages import AssistantMessage
from core.providers.base import (
    STOP_END_TURN,
    ModelRequest,
    ModelTurn,
    StreamPart,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from core.providers.scripted import ScriptedProvider
from tests.unit.agent.helpers import Recorder, make_agent, script


def _kinds(events: Sequence[AgentEvent]) -> list[str]:
    """Event type names, runs of the same chunk type collapsed to one."""
    names: list[str] = []
    for event in events:
        name = type(event).__name__
        if not (name.endswith("Chunk") and names and names[-1] == name):
            names.append(name)
    return names


async def _collect(agent: Agent, prompt: str) -> list[AgentEvent]:
    events: list[AgentEvent] = []
    async with agent:
        async for event in agent.stream(prompt):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                event.approve(True)
    return events


async def test_the_whole_thought_comes_before_the_answer_streams(recorder: Recorder) -> None:
    sc = script({"match": "hi", "thinking": "They greet me; greet back.", "text": "Hello there!"})
    events = await _collect(make_agent(sc, recorder), "hi")
    assert _kinds(events) == ["ThoughtsChunk", "Thoughts", "ResponseChunk", "Response"]
    (thoughts,) = [e for e in events if isinstance(e, Thoughts)]
    streamed = "".join(e.content for e in events if isinstance(e, ThoughtsChunk))
    assert thoughts.content == streamed == "They greet me; greet back."
    answer = "".join(e.content for e in events if isinstance(e, ResponseChunk))
    assert answer == "Hello there!"


async def test_thoughts_of_a_tool_call_come_before_it_runs(recorder: Recorder) -> None:
    sc = script(
        {
            "on": "user",
            "thinking": "Count it.",
            "toolCalls": [{"name": "count", "arguments": {"n": 2}}],
        },
        {"on": "tool", "text": "Counted."},
    )
    events = await _collect(make_agent(sc, recorder), "count to two")
    assert _kinds(events) == [
        "ThoughtsChunk",
        "Thoughts",
        "ApprovalRequest",
        "ToolOutput",
        "ResponseChunk",
        "Response",
    ]
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.content == "[1, 2]"


class Interleaved:
    """A model that thinks, answers, thinks again and answers again in one call (or,
    with ``stream_thinking=False``, tells its thinking only in the final turn)."""

    name = "interleaved"

    def __init__(self, *, stream_thinking: bool = True) -> None:
        self.stream_thinking = stream_thinking

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamPart]:
        parts: list[StreamPart] = [
            ThinkingDelta("first "),
            ThinkingDelta("thought"),
            TextDelta("One. "),
            ThinkingDelta("second thought"),
            TextDelta("Two."),
        ]
        for part in parts:
            if self.stream_thinking or not isinstance(part, ThinkingDelta):
                yield part
        message = AssistantMessage(content="One. Two.", thinking="first thoughtsecond thought")
        yield ModelTurn(message=message, stop_reason=STOP_END_TURN, usage=Usage())

    async def aclose(self) -> None:
        return None


async def test_thinking_resumed_after_the_answer_began_is_a_thought_of_its_own() -> None:
    agent = Agent(Interleaved(), settings=AgentSettings(model="m"))
    events = await _collect(agent, "go")
    assert _kinds(events) == [
        "ThoughtsChunk",
        "Thoughts",
        "ResponseChunk",
        "ThoughtsChunk",
        "Thoughts",
        "ResponseChunk",
        "Response",
    ]
    thoughts = [e.content for e in events if isinstance(e, Thoughts)]
    assert thoughts == ["first thought", "second thought"]
    # together they are the step's thinking, as the history keeps it
    (message,) = [m for m in agent.history if isinstance(m, AssistantMessage)]
    assert "".join(thoughts) == message.thinking


async def test_thinking_told_only_at_the_end_is_one_thought_before_the_response() -> None:
    agent = Agent(Interleaved(stream_thinking=False), settings=AgentSettings(model="m"))
    events = await _collect(agent, "go")
    assert _kinds(events) == ["ResponseChunk", "Thoughts", "Response"]
    thoughts = [e for e in events if isinstance(e, Thoughts)]
    assert [t.content for t in thoughts] == ["first thoughtsecond thought"]


async def test_no_thinking_no_thoughts(recorder: Recorder) -> None:
    provider = ScriptedProvider(script({"match": "hi", "text": "Hello."}))
    events = await _collect(Agent(provider, settings=AgentSettings(model="m")), "hi")
    assert _kinds(events) == ["ResponseChunk", "Response"]
    assert isinstance(events[-1], Response)
