"""Approvals raised inside running code, where they go wrong: real kernels, no fakes.

- after a timeout the kernel is probed; code still running in a thread must
  not get an approval granted by the probe;
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core import ApprovalRequest
from core.code import EXECUTE_TOOL, CodeToolset
from core.config import CodeConfig
from tests.integration.code.support import (
    KERNEL_TIMEOUT,
    code_agent,
    code_result,
    of_type,
    turn,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolset(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CodeToolset]:
    config = CodeConfig(pool_size=1, kernel_init_timeout=KERNEL_TIMEOUT)
    toolset = CodeToolset(config, tmp_path_factory.mktemp("code"))
    await toolset.tools()
    try:
        yield toolset
    finally:
        await toolset.aclose()


def _only_the_cell(request: ApprovalRequest) -> bool:
    return request.tool_name == EXECUTE_TOOL


async def test_a_thread_still_running_after_a_timeout_gets_no_approval_unasked(
    toolset: CodeToolset,
) -> None:
    session = "test:unasked"
    agent = code_agent(toolset, session=session, execution_timeout=2)
    # the thread starts asking once the interrupt has stopped the main thread,
    # and keeps asking: the kernel is probed meanwhile
    code = (
        "import threading, time\n"
        "stopped = threading.Event()\n"
        "def _loop():\n"
        "    stopped.wait()\n"
        "    while True:\n"
        "        try:\n"
        "            get_ipython().system('echo x >> unasked.txt')\n"
        "        except Exception:\n"
        "            time.sleep(0.001)\n"
        "threading.Thread(target=_loop, daemon=True).start()\n"
        "try:\n"
        "    time.sleep(60)\n"
        "finally:\n"
        "    stopped.set()"
    )
    try:
        events = await turn(agent, f"run {code}", answer=_only_the_cell)
        result = code_result(events)
        assert "Timed out" in result.content and "still running" in result.content
        await asyncio.sleep(1)  # the thread goes on asking; nobody is connected to answer
        asked = [r for r in of_type(events, ApprovalRequest) if r.tool_name != EXECUTE_TOOL]
        assert asked == []
        assert not (toolset.paths.session_dir(session) / "unasked.txt").exists()
    finally:
        await toolset.release(session, "main")  # the thread would ask for ever
