"""The kernel pool with real kernels: warm kernels, idle stop, refill, room, shutdown."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import psutil
import pytest

from core import AgentEvent, CodeExecutionOutput
from core.code import EXECUTE_TOOL, CodeToolset
from core.config import CodeConfig
from core.errors import ToolError
from core.tools.tool import Tool, ToolContext
from tests.integration.code.support import KERNEL_TIMEOUT

NOTE = "[Note: this code ran in another Python kernel"


async def _execute(toolset: CodeToolset) -> Tool:
    (tool,) = [t for t in await toolset.tools() if t.name == EXECUTE_TOOL]
    return tool


async def _run(tool: Tool, code: str, session: str) -> str:
    context = ToolContext(session_key=session, tool_call_id="c1")
    return await asyncio.wait_for(tool.call({"code": code}, context), KERNEL_TIMEOUT)


async def _until(check: object, within: float = KERNEL_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def _running(pids: list[int]) -> bool:
    """Whether any of ``pids`` still runs (a zombie waiting to be reaped does not)."""
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            pass
    return False


def _all_pids(toolset: CodeToolset) -> list[int]:
    """The gateway and kernel processes of every kernel the pool holds now."""
    return [pid for kernel in toolset.pool.kernels() for pid in kernel.pids()]


async def test_idle_kernels_stop_the_pool_refills_and_the_model_is_told(tmp_path: Path) -> None:
    toolset = CodeToolset(
        CodeConfig(pool_size=1, idle_timeout=1.5, kernel_init_timeout=KERNEL_TIMEOUT), tmp_path
    )
    try:
        tool = await _execute(toolset)
        await _until(lambda: toolset.pool.warm == 1)  # warmed before anyone asked
        started = time.monotonic()
        assert await _run(tool, "x = 6 * 7\nprint(x)", "s:a") == "42"
        assert time.monotonic() - started < 2.5  # no kernel start on the way
        kernel = toolset.pool.assigned(("s:a", "main"))
        assert kernel is not None
        pids = kernel.pids()
        await _until(lambda: toolset.pool.warm == 1)  # refilled in the background
        await _until(lambda: toolset.pool.assigned(("s:a", "main")) is None, within=10)
        await _until(lambda: not _running(pids), within=15)  # stopped when idle
        assert toolset.pool.warm == 1  # waiting kernels are the pool, not idle ones
        answer = await _run(tool, "print('x' in globals())", "s:a")
        assert answer.startswith(NOTE) and answer.endswith("\nFalse")
        pids = _all_pids(toolset)  # each kernel a gateway and its IPython kernel
        assert len(pids) >= 2 and all(_running([pid]) for pid in pids)
    finally:
        await toolset.aclose()
    assert toolset.pool.kernels() == []
    await _until(lambda: not _running(pids), within=10)  # every one of them stopped


async def test_at_max_kernels_the_least_recently_used_idle_one_makes_room(
    tmp_path: Path,
) -> None:
    config = CodeConfig(pool_size=0, max_kernels=1, kernel_init_timeout=KERNEL_TIMEOUT)
    toolset = CodeToolset(config, tmp_path)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        tool = await _execute(toolset)
        await _run(tool, "a = 1", "s:a")
        first = toolset.pool.assigned(("s:a", "main"))
        assert first is not None
        # kernels run servers in this process; the process's signals stay its own
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
        await _run(tool, "b = 2", "s:b")
        assert toolset.pool.assigned(("s:a", "main")) is None
        assert first.stopped
        assert [k for k in toolset.pool.kernels() if not k.stopped] == toolset.pool.kernels()
        assert len(toolset.pool.kernels()) == 1
    finally:
        await toolset.aclose()
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers


async def test_a_kernel_that_cannot_start_is_a_tool_error(tmp_path: Path) -> None:
    toolset = CodeToolset(CodeConfig(pool_size=0, kernel_init_timeout=0.5), tmp_path)
    emitted: list[AgentEvent] = []

    async def emit(event: AgentEvent) -> None:
        emitted.append(event)

    try:
        tool = await _execute(toolset)
        context = ToolContext(session_key="s:slow", tool_call_id="c1", emit=emit)
        with pytest.raises(ToolError, match="the Python kernel did not start") as raised:
            await asyncio.wait_for(tool.call({"code": "print(1)"}, context), KERNEL_TIMEOUT)
        # the reason names the limit and its setting, not a bare "TimeoutError"
        assert "within 0.5 s (code.kernelInitTimeout)" in str(raised.value)
        # the action still ends in one CodeExecutionOutput, saying why
        (output,) = emitted
        assert isinstance(output, CodeExecutionOutput) and output.text == ""
        assert output.error is not None and "did not start" in output.error
    finally:
        await toolset.aclose()
    assert not list((tmp_path / ".facio" / "code" / "procs").glob("*.json"))


async def test_pool_size_0_starts_nothing_until_code_runs(tmp_path: Path) -> None:
    toolset = CodeToolset(CodeConfig(pool_size=0), tmp_path)
    try:
        await toolset.tools()
        await asyncio.sleep(0.2)
        assert toolset.pool.kernels() == []
        assert not (tmp_path / ".facio").exists()
    finally:
        await toolset.aclose()
