"""One model call: stream its deltas as events and collect the final turn.

A step's thinking comes as ``ThoughtsChunk`` events and then, when the
thinking ends, as one whole ``Thoughts``: before the answer's first
``ResponseChunk``, or at the end of the call when no text follows (a tool
call, or a provider that tells its thinking only in the final turn). A model
that thinks again after its answer began (interleaved thinking) gets a second
``Thoughts`` for that part; together they are the step's thinking, as the
history keeps it (``AssistantMessage.thinking``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from core.events import AgentEvent, ResponseChunk, Thoughts, ThoughtsChunk
from core.providers.base import ModelRequest, ModelTurn, Provider, TextDelta, ThinkingDelta
from core.providers.errors import ProviderProtocolError


@dataclass
class ModelStepResult:
    turn: ModelTurn | None = None


async def model_step(
    provider: Provider, request: ModelRequest, agent_id: str, result: ModelStepResult
) -> AsyncIterator[AgentEvent]:
    """Yield chunk events and ``Thoughts``; store the provider's final ModelTurn in ``result``."""
    thought: list[str] = []
    """Thinking streamed since the last ``Thoughts``."""
    streamed_thinking = False
    async for part in provider.stream(request):
        if isinstance(part, TextDelta):
            if part.text:
                if thought:
                    yield Thoughts(content="".join(thought), agent_id=agent_id)
                    thought.clear()
                yield ResponseChunk(content=part.text, agent_id=agent_id)
        elif isinstance(part, ThinkingDelta):
            if part.text:
                thought.append(part.text)
                streamed_thinking = True
                yield ThoughtsChunk(content=part.text, agent_id=agent_id)
        else:
            result.turn = part
    if result.turn is None:
        raise ProviderProtocolError(f"{provider.name}: the stream ended without a final turn")
    if thought:
        yield Thoughts(content="".join(thought), agent_id=agent_id)
    elif not streamed_thinking and result.turn.message.thinking:
        yield Thoughts(content=result.turn.message.thinking, agent_id=agent_id)
