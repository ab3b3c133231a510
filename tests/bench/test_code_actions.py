"""Code actions: a session's first code action with the sandbox and without it, from a
warm pool and from a cold kernel start, and what one session's kernel costs in memory.

First code action = ``ipybox_execute_ipython_cell`` with ``print(6*7)`` on a
session that has no kernel yet, timed from the call to its result (kernel
taken or started, bound to the session's folder, cell run). Cold: pool size
0, so the call starts the kernel. Warm: pool size 1, timed once every pool
has its kernel ready (refills are never timed, nor do they run while a call
is timed). "sandbox" is ``code.sandbox: "bwrap"`` (network on, default
limits); the baseline, in the same run, is ``"off"``. The two are timed in
turn, run after run, so that a busy moment of a shared machine falls on
both. ipybox is imported before the first run. Each session's kernel is
stopped after its run.

Run: python3 dev.py bench
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
import pytest

from core.code import EXECUTE_TOOL, CodeToolset
from core.code.sandbox import check_sandbox
from core.config import CodeConfig
from core.config.models_code import SandboxMode
from core.tools.tool import ToolContext

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1800)]

WARM_RUNS = 20
COLD_RUNS = 10
"""Fewer: each cold run starts two kernels, seconds each on a small machine."""
START = 120.0
MODES: tuple[SandboxMode, ...] = ("off", "bwrap")
Memory = dict[str, tuple[float, float]]
"""RSS and USS in MiB by kind of process."""


def _p99(samples: Sequence[float]) -> float:
    """Nearest-rank 99th percentile (with 10 or 20 samples: the largest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def _first_action(toolset: CodeToolset, session: str) -> float:
    (tool,) = [t for t in await toolset.tools() if t.name == EXECUTE_TOOL]
    started = time.perf_counter()
    out = await tool.call({"code": "print(6*7)"}, ToolContext(session_key=session))
    elapsed = time.perf_counter() - started
    assert out.endswith("42"), out
    return elapsed


async def _until_warm(toolsets: Sequence[CodeToolset]) -> None:
    deadline = time.monotonic() + START
    while any(t.pool.warm < 1 for t in toolsets):
        assert time.monotonic() < deadline, "a pool did not warm up"
        await asyncio.sleep(0.05)


def _kind(process: psutil.Process) -> str:
    line = " ".join(process.cmdline())
    if "kernelgateway" in line:
        return "kernel gateway"
    if process.name() == "bwrap":
        return "bubblewrap"
    return "IPython kernel"


def _memory(pids: list[int]) -> Memory:
    """Several processes of a kind (bubblewrap's two) add up."""
    rows: Memory = {}
    for pid in pids:
        process = psutil.Process(pid)
        info = process.memory_full_info()
        rss, uss = rows.get(_kind(process), (0.0, 0.0))
        rows[_kind(process)] = (rss + info.rss / 2**20, uss + info.uss / 2**20)
    return rows


def _toolsets(folder: Path, pool_size: int) -> dict[str, CodeToolset]:
    return {
        mode: CodeToolset(
            CodeConfig(pool_size=pool_size, kernel_init_timeout=START, sandbox=mode),
            folder / f"{mode}-{pool_size}",
        )
        for mode in MODES
    }


async def _cold(folder: Path) -> dict[str, list[float]]:
    toolsets = _toolsets(folder, 0)
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        for toolset in toolsets.values():
            await toolset.ready()
        for i in range(COLD_RUNS):
            for mode, toolset in toolsets.items():
                samples[mode].append(await _first_action(toolset, f"cold:{i}"))
                await toolset.release(f"cold:{i}", "main")
    finally:
        for toolset in toolsets.values():
            await toolset.aclose()
    return samples


async def _warm(folder: Path) -> tuple[dict[str, list[float]], dict[str, Memory]]:
    toolsets = _toolsets(folder, 1)
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}
    memory: dict[str, Memory] = {}
    try:
        for toolset in toolsets.values():
            await toolset.tools()
        for i in range(WARM_RUNS):
            for mode, toolset in toolsets.items():
                await _until_warm(list(toolsets.values()))
                samples[mode].append(await _first_action(toolset, f"warm:{i}"))
                if i < WARM_RUNS - 1:
                    await toolset.release(f"warm:{i}", "main")
        for mode, toolset in toolsets.items():
            kernel = toolset.pool.assigned((f"warm:{WARM_RUNS - 1}", "main"))
            assert kernel is not None and kernel.sandboxed == (mode == "bwrap")
            memory[mode] = _memory(kernel.pids())
    finally:
        for toolset in toolsets.values():
            await toolset.aclose()
    return samples, memory


def _row(name: str, samples: dict[str, list[float]]) -> None:
    off, box = samples["off"], samples["bwrap"]
    cells = [statistics.median(box), _p99(box), statistics.median(off), _p99(off)]
    ratio = statistics.median(box) / statistics.median(off)
    shown = " ".join(f"{v * 1000:8.0f} ms" for v in cells)
    print(f"{name:10} {shown} {ratio:7.2f}x {_p99(box) / _p99(off):7.2f}x")


def test_first_code_action_with_and_without_the_sandbox_and_kernel_memory(
    tmp_path: Path,
) -> None:
    if not check_sandbox(True).works:
        pytest.skip(f"bubblewrap cannot run here: {check_sandbox(True).reason}")
    cold = asyncio.run(_cold(tmp_path))
    warm, memory = asyncio.run(_warm(tmp_path))
    runs = f"N={WARM_RUNS} warm, {COLD_RUNS} cold"
    print(f"\nfirst code action of a session (print(6*7)), {runs} runs each, taken in turn")
    header = ["sandbox med", "sandbox p99", "off med", "off p99", "ratio med", "ratio p99"]
    print(f"{'':10} {header[0]:>11} {header[1]:>11} {header[2]:>11} {header[3]:>11}", end="")
    print(f" {header[4]:>9} {header[5]:>9}")
    _row("warm pool", warm)
    _row("cold start", cold)
    print("memory of one session's kernel after print(6*7), MiB (RSS / USS)")
    kinds = ["kernel gateway", "bubblewrap", "IPython kernel"]
    totals = {}
    for mode in MODES:
        rows = memory[mode]
        totals[mode] = (sum(r for r, _ in rows.values()), sum(u for _, u in rows.values()))
    for kind in [*kinds, "total"]:
        box = totals["bwrap"] if kind == "total" else memory["bwrap"].get(kind, (0.0, 0.0))
        off = totals["off"] if kind == "total" else memory["off"].get(kind, (0.0, 0.0))
        line = f"  {kind:15} sandbox {box[0]:6.1f} / {box[1]:6.1f}"
        line += f"   off {off[0]:6.1f} / {off[1]:6.1f}"
        if kind == "total":
            line += f"   ratio {box[0] / off[0]:.2f}x / {box[1] / off[1]:.2f}x"
        print(line)
    assert statistics.median(warm["bwrap"]) < statistics.median(cold["bwrap"])
    assert statistics.median(warm["off"]) < statistics.median(cold["off"])
