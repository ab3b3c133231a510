"""Agent loop overhead per turn and per streamed chunk (scripted model, no network).

Baseline, measured in the same run: iterating the scripted provider's stream
directly. The agent's cost is the difference; the ratio shows how much the
loop (events, history, saving, tool plumbing) adds.

Run: python3 dev.py bench
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core import Agent, AgentSettings, JsonlSessionStore, MemorySessionStore, Tool
from core.messages import UserMessage
from core.permissions import MemoryPermissionStore, PermissionManager
from core.providers.base import ModelRequest
from core.providers.scripted import Script, ScriptedProvider

pytestmark = pytest.mark.bench

ROUNDS = 15
TURNS = 100
CHUNKS = 2000


def _script(text: str, chunk: int, tool: bool = False) -> Script:
    rules: list[dict[str, object]] = []
    if tool:
        rules = [
            {"on": "user", "toolCalls": [{"name": "echo", "arguments": {"x": "1"}}]},
            {"on": "tool", "text": text},
        ]
    return Script.model_validate({"rules": rules, "fallback": text, "chunkSize": chunk})


async def _median(fn: Callable[[], Awaitable[None]], per: int) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) / per)
    return statistics.median(samples)


def echo(x: str) -> str:
    """Echo."""
    return x


async def _bench() -> dict[str, float]:
    text_turn = _script("The answer is forty-two.", 8)
    provider = ScriptedProvider(text_turn)
    request = ModelRequest(model="m", system_prompt="", messages=(UserMessage(content="hi"),))

    async def raw_turns() -> None:
        for _ in range(TURNS):
            async for _part in provider.stream(request):
                pass

    async def agent_turns(store_factory: Callable[[], object], tool: bool = False) -> None:
        sc = _script("The answer is forty-two.", 8, tool=tool)
        agent = Agent(
            ScriptedProvider(sc),
            tools=[Tool(echo)],
            store=store_factory(),  # type: ignore[arg-type]
            permissions=PermissionManager(store=MemoryPermissionStore({"echo"})),
            settings=AgentSettings(model="m"),
        )
        async with agent:
            for i in range(TURNS):
                async for _event in agent.stream(f"q{i}"):
                    pass

    big = ScriptedProvider(_script("x" * CHUNKS, 1))

    async def raw_chunks() -> None:
        async for _part in big.stream(request):
            pass

    async def agent_chunks() -> None:
        agent = Agent(big, store=MemorySessionStore(), settings=AgentSettings(model="m"))
        async for _event in agent.stream("go"):
            pass

    tmp = Path(tempfile.mkdtemp())
    counter = iter(range(10**6))

    def jsonl() -> JsonlSessionStore:
        return JsonlSessionStore(tmp / f"s{next(counter)}")

    raw_turn = await _median(raw_turns, TURNS)
    return {
        "raw provider turn": raw_turn,
        "agent turn (memory store)": await _median(lambda: agent_turns(MemorySessionStore), TURNS),
        "agent turn + 1 tool call (memory)": await _median(
            lambda: agent_turns(MemorySessionStore, tool=True), TURNS
        ),
        "agent turn (JSONL store, fsync)": await _median(lambda: agent_turns(jsonl), TURNS),
        "raw provider chunk": await _median(raw_chunks, CHUNKS),
        "agent chunk": await _median(agent_chunks, CHUNKS),
    }


def test_agent_loop_overhead() -> None:
    results = asyncio.run(_bench())
    turn, chunk = results["raw provider turn"], results["raw provider chunk"]
    print("\nagent loop overhead (median of", ROUNDS, "rounds)")
    print(f"{'case':38} {'µs':>10} {'× baseline':>11}")
    for name, value in results.items():
        base = chunk if "chunk" in name else turn
        print(f"{name:38} {value * 1e6:10.1f} {value / base:11.2f}")
    # the loop must not be pathological: a chunk costs well under a millisecond
    assert results["agent chunk"] < 1e-3
