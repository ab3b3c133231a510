"""Helpers for agent tests: scripted models and tools that record their calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from core import Agent, AgentEvent, AgentSettings, ApprovalRequest, MemorySessionStore, Tool
from core.providers.scripted import Script, ScriptedProvider


def script(*rules: dict[str, Any], fallback: str = "fallback") -> Script:
    return Script.model_validate({"rules": list(rules), "fallback": fallback, "chunkSize": 4})


@dataclass
class Recorder:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def tools(self) -> list[Tool]:
        def send_email(to: str, subject: str = "hi") -> str:
            """Send an email.

            Args:
                to: Recipient address.
                subject: Subject line.
            """
            self.calls.append({"tool": "send_email", "to": to, "subject": subject})
            return f"sent to {to}"

        def count(n: int) -> str:
            """Count to n."""
            self.calls.append({"tool": "count", "n": n})
            return str(list(range(1, n + 1)))

        async def slow(seconds: float) -> str:
            """Sleep."""
            self.calls.append({"tool": "slow", "seconds": seconds})
            await asyncio.sleep(seconds)
            return "slept"

        def boom() -> str:
            """Always fails."""
            self.calls.append({"tool": "boom"})
            raise RuntimeError("kaput")

        return [Tool(send_email), Tool(count), Tool(slow), Tool(boom)]


def make_agent(
    sc: Script,
    recorder: Recorder,
    *,
    store: MemorySessionStore | None = None,
    **kwargs: Any,
) -> Agent:
    settings = kwargs.pop("settings", AgentSettings(model="test", approval_timeout=5.0))
    return Agent(
        ScriptedProvider(sc),
        tools=recorder.tools(),
        store=store or MemorySessionStore(),
        settings=settings,
        session_key="test:1",
        **kwargs,
    )


async def collect(
    stream: AsyncIterator[AgentEvent], approve: bool | None = True
) -> list[AgentEvent]:
    """Drain a stream, answering every approval request with ``approve`` (None: leave it)."""
    events: list[AgentEvent] = []
    async for event in stream:
        events.append(event)
        if isinstance(event, ApprovalRequest) and approve is not None:
            event.approve(approve)
    return events
