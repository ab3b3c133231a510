"""The SDK warms kernels when a bot with code actions starts (``async with Facio``),
before any agent: the first code action takes that kernel, or waits for it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bots.sdk import Facio
from core import ApprovalRequest, CodeExecutionOutput, MemorySessionStore
from core.code import CodeToolset
from core.config import parse_config
from tests.integration.code.support import KERNEL_TIMEOUT

SESSION = "sdk:warm"


def _facio(tmp_path: Path, pool_size: int = 1) -> tuple[Facio, CodeToolset]:
    data = {
        "workspace": "ws",
        "agent": {"model": "scripted:code"},
        "bots": {"main": {"preset": "assistant"}},
        # one kernel at most: no refill after the first action takes the warm one
        "code": {"poolSize": pool_size, "maxKernels": 1, "kernelInitTimeout": KERNEL_TIMEOUT},
    }
    facio = Facio(parse_config(data, base_dir=tmp_path, env={}), sessions=MemorySessionStore())
    (code,) = [t for t in facio.toolsets if isinstance(t, CodeToolset)]
    return facio, code


async def _until(check: object, within: float = KERNEL_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _first_code_action(facio: Facio) -> str:
    async def play() -> str:
        async with facio.agent(SESSION) as agent:
            async for event in agent.stream("run print(6*7)"):
                if isinstance(event, ApprovalRequest):
                    event.approve(True)
                elif isinstance(event, CodeExecutionOutput):
                    return event.text.strip()
        raise AssertionError("no code output")

    return await asyncio.wait_for(play(), KERNEL_TIMEOUT)


async def test_a_started_bot_warms_a_kernel_before_any_agent(tmp_path: Path) -> None:
    facio, code = _facio(tmp_path)
    async with facio:
        await _until(lambda: code.pool.warm == 1)  # no agent has started
        (warm,) = code.pool.kernels()
        assert await _first_code_action(facio) == "42"
        assert code.pool.assigned((SESSION, "main")) is warm  # the warm one, not a new one


async def test_a_first_code_action_waits_for_the_kernel_being_warmed(tmp_path: Path) -> None:
    facio, code = _facio(tmp_path)
    async with facio:
        # at once: the kernel start() began warming is not ready yet
        assert code.pool.kernels() == []
        assert await _first_code_action(facio) == "42"
        served = code.pool.assigned((SESSION, "main"))
        # that kernel served the action: a kernel started for the action instead would
        # have left the one warming (started first) in the pool by now
        assert served is not None and code.pool.kernels() == [served]
        assert code.pool.warm == 0


async def test_with_pool_size_0_starting_the_bot_starts_no_kernel(tmp_path: Path) -> None:
    facio, code = _facio(tmp_path, pool_size=0)
    async with facio:
        await asyncio.sleep(0.3)
        assert code.pool.kernels() == []
        assert not (tmp_path / "ws" / ".facio" / "code").exists()
