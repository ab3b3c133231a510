"""One model call: stream its deltas as events and collect the final turn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from core.events import AgentEvent, ResponseChunk, ThoughtsChunk
from core.providers.base import ModelRequest, ModelTurn, Provider, TextDelta, ThinkingDelta
from core.providers.errors import ProviderProtocolError


@dataclass
class ModelStepResult:
    turn: ModelTurn | None = None


async def model_step(
    provider: Provider, request: ModelRequest, agent_id: str, result: ModelStepResult
) -> AsyncIterator[AgentEvent]:
    """Yield chunk events; store the provider's final ModelTurn in ``result``."""
    async for part in provider.stream(request):
        if isinstance(part, TextDelta):
            if part.text:
                yield ResponseChunk(content=part.text, agent_id=agent_id)
        elif isinstance(part, ThinkingDelta):
            if part.text:
                yield ThoughtsChunk(content=part.text, agent_id=agent_id)
        else:
            result.turn = part
    if result.turn is None:
        raise ProviderProtocolError(f"{provider.name}: the stream ended without a final turn")
