"""Helpers shared by the provider tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.providers.base import (
    ModelRequest,
    ModelTurn,
    Provider,
    StreamPart,
    TextDelta,
    ThinkingDelta,
)
from core.providers.retry import RetryPolicy

API_KEY = "sk-test-SECRET-0123456789"
"""The key the loopback server expects; tests check it never leaks."""


@dataclass
class RecordingSleep:
    """A RetryPolicy.sleep that records the delays instead of waiting."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def fast_retry(sleep: RecordingSleep, max_retries: int = 3) -> RetryPolicy:
    """No waiting, no randomness: jitter fixed at the middle."""
    return RetryPolicy(max_retries=max_retries, sleep=sleep, jitter=lambda: 0.5)


@dataclass
class Collected:
    parts: list[StreamPart]

    @property
    def turn(self) -> ModelTurn:
        assert isinstance(self.parts[-1], ModelTurn)
        assert sum(isinstance(p, ModelTurn) for p in self.parts) == 1
        return self.parts[-1]

    @property
    def text_deltas(self) -> list[str]:
        return [p.text for p in self.parts if isinstance(p, TextDelta)]

    @property
    def thinking_deltas(self) -> list[str]:
        return [p.text for p in self.parts if isinstance(p, ThinkingDelta)]


async def collect(
    provider: Provider, request: ModelRequest, into: list[StreamPart] | None = None
) -> Collected:
    """Every part of one stream (``into`` keeps the parts seen before an error)."""
    parts = into if into is not None else []
    async for part in provider.stream(request):
        parts.append(part)
    return Collected(parts)
