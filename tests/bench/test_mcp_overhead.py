"""MCP tool-call overhead: one stdio round trip to a real server process.

Three ways to run the same trivial function (``echo(text) -> text``), in one run:
- in process: a facio ``Tool`` around the function (the baseline);
- raw MCP: the MCP SDK's ``ClientSession.call_tool`` over stdio to the fake
  FastMCP server (``tests/fakes/mcp_server.py``), no facio;
- facio MCP: the same server through ``McpToolset`` (argument checks, the
  connection's owner task, the timeout, the result as text).

Each call is timed on its own, the three cases taking turns; median and p95
over N calls each after a warm-up.

Run: python3 dev.py bench
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from core.config.models_servers import McpServerConfig
from core.mcp import McpToolset
from core.tools.tool import Tool, ToolContext
from tests.integration.mcp.support import FAKE

pytestmark = pytest.mark.bench

N = 500
WARMUP = 50


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


Call = Callable[[], Awaitable[object]]


async def _interleaved(cases: dict[str, Call]) -> dict[str, list[float]]:
    """Time each case once per round, in turn, so that the machine's load (it is
    shared) falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(WARMUP + N):
        for name, fn in cases.items():
            start = time.perf_counter()
            await fn()
            if round_ >= WARMUP:
                samples[name].append(time.perf_counter() - start)
    return samples


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def _bench() -> dict[str, list[float]]:
    local = Tool(echo)
    context = ToolContext()
    mcp = McpToolset(
        {"fake": McpServerConfig(command=sys.executable, args=[FAKE])},
        workspace=Path(tempfile.mkdtemp()),
        connect_timeout=120,
    )
    params = StdioServerParameters(command=sys.executable, args=[FAKE])
    try:
        tool = {t.name: t for t in await mcp.tools()}["fake_echo"]
        with open(os.devnull, "w") as devnull:
            async with (
                stdio_client(params, errlog=devnull) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await session.list_tools()
                return await _interleaved(
                    {
                        "in process (baseline)": lambda: local.call({"text": "hi"}, context),
                        "raw MCP SDK, stdio": lambda: session.call_tool("echo", {"text": "hi"}),
                        "facio McpToolset, stdio": lambda: tool.call({"text": "hi"}, context),
                    }
                )
    finally:
        await mcp.aclose()


def test_mcp_call_overhead() -> None:
    results = asyncio.run(_bench())
    base = statistics.median(results["in process (baseline)"])
    raw = statistics.median(results["raw MCP SDK, stdio"])
    print(f"\nMCP tool call, echo(text): median and p95 of {N} calls after {WARMUP} warm-up")
    print(f"{'case':28} {'median µs':>10} {'p95 µs':>10} {'× baseline':>11} {'× raw MCP':>10}")
    for name, samples in results.items():
        median = statistics.median(samples)
        print(
            f"{name:28} {median * 1e6:10.1f} {_p95(samples) * 1e6:10.1f} "
            f"{median / base:11.1f} {median / raw:10.2f}"
        )
    # A stdio round trip to a local server stays well under 50 ms on a busy machine.
    assert statistics.median(results["facio McpToolset, stdio"]) < 0.05
