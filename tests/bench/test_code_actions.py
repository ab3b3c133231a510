"""Code actions: a session's first code action with a warm pool vs a cold kernel start,
and what one session's kernel costs in memory.

First code action = ``ipybox_execute_ipython_cell`` with ``print(6*7)`` on a
session that has no kernel yet, timed from the call to its result (kernel
taken or started, bound to the session's folder, cell run). Cold: pool size
0, so the call starts the kernel. Warm: pool size 1, measured once the pool
has its kernel ready (the refill between runs is not timed). ipybox is
imported before the first run in both cases. Each session's kernel is
stopped after its run.

Run: python3 dev.py bench
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from pathlib import Path

import psutil
import pytest

from core.code import EXECUTE_TOOL, CodeToolset
from core.config import CodeConfig
from core.tools.tool import ToolContext

pytestmark = [pytest.mark.bench, pytest.mark.timeout(900)]

RUNS = 10
START = 120.0


def _p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile (with 10 samples: the largest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _first_action(toolset: CodeToolset, session: str) -> float:
    (tool,) = [t for t in await toolset.tools() if t.name == EXECUTE_TOOL]
    started = time.perf_counter()
    out = await tool.call({"code": "print(6*7)"}, ToolContext(session_key=session))
    elapsed = time.perf_counter() - started
    assert out.endswith("42"), out
    return elapsed


async def _until_warm(toolset: CodeToolset) -> None:
    deadline = time.monotonic() + START
    while toolset.pool.warm < 1:
        assert time.monotonic() < deadline, "the pool did not warm up"
        await asyncio.sleep(0.05)


def _memory(pids: list[int]) -> list[tuple[str, float, float]]:
    rows = []
    for pid in pids:
        process = psutil.Process(pid)
        info = process.memory_full_info()
        name = "gateway" if "kernelgateway" in " ".join(process.cmdline()) else "kernel"
        rows.append((name, info.rss / 2**20, info.uss / 2**20))
    return rows


async def _bench(folder: Path) -> dict[str, object]:
    cold_set = CodeToolset(CodeConfig(pool_size=0, kernel_init_timeout=START), folder / "cold")
    await cold_set.tools()
    await cold_set.ready()
    cold = []
    try:
        for i in range(RUNS):
            cold.append(await _first_action(cold_set, f"cold:{i}"))
            await cold_set.release(f"cold:{i}", "main")
    finally:
        await cold_set.aclose()

    warm_set = CodeToolset(CodeConfig(pool_size=1, kernel_init_timeout=START), folder / "warm")
    await warm_set.tools()
    warm = []
    try:
        for i in range(RUNS):
            await _until_warm(warm_set)
            warm.append(await _first_action(warm_set, f"warm:{i}"))
            if i < RUNS - 1:
                await warm_set.release(f"warm:{i}", "main")
        kernel = warm_set.pool.assigned((f"warm:{RUNS - 1}", "main"))
        assert kernel is not None
        memory = _memory(kernel.pids())
    finally:
        await warm_set.aclose()
    return {"cold": cold, "warm": warm, "memory": memory}


def test_first_code_action_latency_and_kernel_memory(tmp_path: Path) -> None:
    results = asyncio.run(_bench(tmp_path))
    cold: list[float] = results["cold"]  # type: ignore[assignment]
    warm: list[float] = results["warm"]  # type: ignore[assignment]
    memory: list[tuple[str, float, float]] = results["memory"]  # type: ignore[assignment]
    print(f"\nfirst code action of a session (print(6*7)), N={RUNS} runs each")
    print(f"{'case':34} {'median':>10} {'p95':>10} {'min':>10}")
    for name, samples in (
        ("warm pool (poolSize 1)", warm),
        ("cold kernel start (poolSize 0)", cold),
    ):
        median, p95, low = statistics.median(samples), _p95(samples), min(samples)
        print(f"{name:34} {median * 1000:8.0f} ms {p95 * 1000:7.0f} ms {low * 1000:7.0f} ms")
    print(f"speed-up of the median: {statistics.median(cold) / statistics.median(warm):.0f}x")
    print("memory of one session's kernel after print(6*7)")
    for name, rss, uss in memory:
        print(f"  {name:8} RSS {rss:6.1f} MiB   USS {uss:6.1f} MiB")
    total_rss, total_uss = sum(r for _, r, _ in memory), sum(u for *_, u in memory)
    print(f"  {'total':8} RSS {total_rss:6.1f} MiB   USS {total_uss:6.1f} MiB")
    assert statistics.median(warm) < statistics.median(cold)
