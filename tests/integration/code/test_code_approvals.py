"""Approvals raised inside running code, where they go wrong: real kernels, no fakes.

- after a timeout the kernel is probed; code still running in a thread must
  not get an approval granted by the probe;
- a decision that fails (a hook raising) rejects the code's call instead of
  leaving the cell waiting for ever;
- the execution clock stays stopped while *any* approval is pending;
- a kernel lost mid-cell still ends the action with a ``CodeExecutionOutput``;
- a kernel process that dies (the gateway restarts a bare one), or that the
  code ends with ``exit()``, is a lost kernel, not a timeout that keeps the
  variables nor a success.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core import (
    AgentEvent,
    ApprovalRequest,
    CodeExecutionOutput,
    CodeExecutionOutputChunk,
    Hook,
    RunContext,
    ToolOutput,
)
from core.code import EXECUTE_TOOL, CodeToolset
from core.config import CodeConfig
from tests.integration.code.support import (
    KERNEL_TIMEOUT,
    code_agent,
    code_result,
    of_type,
    ready,
    turn,
    two_shell_calls,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolset(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CodeToolset]:
    config = CodeConfig(pool_size=1, kernel_init_timeout=KERNEL_TIMEOUT)
    toolset = CodeToolset(config, tmp_path_factory.mktemp("code"))
    await ready(toolset)
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


class _BrokenPolicy(Hook):
    """A policy hook whose store is down: it raises for the code's own requests."""

    async def on_approval_request(self, ctx: RunContext, request: ApprovalRequest) -> bool | None:
        if request.tool_name == "shell":
            raise RuntimeError("the policy store is down")
        return None


async def test_a_decision_that_fails_rejects_the_call_and_the_cell_ends(
    toolset: CodeToolset, caplog: pytest.LogCaptureFixture
) -> None:
    session = "test:hook"
    await turn(code_agent(toolset, session=session), "run warm = 1")  # kernel ready
    agent = code_agent(toolset, session=session, hooks=[_BrokenPolicy()])
    code = "!echo hi > hooked.txt"
    events = await turn(agent, f"run {code}", timeout=30)  # it hung here for ever
    result = code_result(events)
    assert result.is_error and "ApprovalRejectedError" in result.content
    assert not (toolset.paths.session_dir(session) / "hooked.txt").exists()
    assert "the policy store is down" in caplog.text  # logged, not swallowed
    events = await turn(code_agent(toolset, session=session), "run print(warm)", timeout=30)
    assert code_result(events).content == "1"  # the kernel goes on


async def test_the_clock_stays_stopped_while_any_approval_is_pending(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:two-pending", execution_timeout=2)
    code = two_shell_calls("sorted(o[0] for o in outs)")
    pending: list[ApprovalRequest] = []

    async def play() -> list[object]:
        events: list[object] = []
        async for event in agent.stream(f"run {code}"):
            events.append(event)
            if isinstance(event, ApprovalRequest) and event.tool_name == EXECUTE_TOOL:
                event.approve(True)
            elif isinstance(event, ApprovalRequest):
                pending.append(event)
                if len(pending) == 2:  # the first answered at once, the second slowly
                    pending[0].approve(True)
                    await asyncio.sleep(3.5)  # longer than the execution timeout
                    pending[1].approve(True)
        return events

    events = await asyncio.wait_for(play(), KERNEL_TIMEOUT)
    (result,) = [e for e in events if isinstance(e, ToolOutput)]
    assert (result.content, result.is_error) == ("['t1', 't2']", False)


async def test_a_kernel_lost_mid_cell_still_ends_in_a_code_execution_output(
    toolset: CodeToolset, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="core.code.kernel")  # its stop is noisy
    agent = code_agent(toolset, session="test:lost")
    code = "import time\nprint('before', flush=True)\ntime.sleep(30)"

    async def play() -> list[AgentEvent]:
        events: list[AgentEvent] = []
        async for event in agent.stream(f"run {code}"):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                event.approve(True)
            elif isinstance(event, CodeExecutionOutputChunk):  # the cell runs: its gateway dies
                kernel = toolset.pool.assigned(("test:lost", "main"))
                assert kernel is not None and kernel.executor.gateway is not None
                assert kernel.executor.gateway.pid is not None
                os.kill(kernel.executor.gateway.pid, signal.SIGKILL)
        return events

    events = await asyncio.wait_for(play(), KERNEL_TIMEOUT)
    assert "".join(c.text for c in of_type(events, CodeExecutionOutputChunk)) == "before\n"
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.text == "before"
    assert output.error is not None and "stopped answering" in output.error
    assert events.index(output) > events.index(of_type(events, CodeExecutionOutputChunk)[-1])
    result = code_result(events)
    assert result.is_error and "stopped answering" in result.content
    assert toolset.pool.assigned(("test:lost", "main")) is None


async def test_a_kernel_process_that_dies_is_lost_not_timed_out(
    toolset: CodeToolset, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="core.code.kernel")
    session = "test:died"
    agent = code_agent(toolset, session=session, execution_timeout=KERNEL_TIMEOUT)
    events = await turn(agent, "run kept = 1\nimport os\nos._exit(1)")
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.error is not None and "stopped answering" in output.error
    result = code_result(events)
    # not "Timed out ... what was defined before the interrupt is kept"
    assert result.is_error and "stopped answering" in result.content
    assert "Timed out" not in result.content
    assert toolset.pool.assigned((session, "main")) is None
    events = await turn(agent, "run import os\nprint(os.getcwd(), 'kept' in dir())")
    content = code_result(events).content
    assert content.startswith("[Note: this code ran in another Python kernel")
    assert content.endswith(f"{toolset.paths.session_dir(session)} False")


async def test_exit_in_the_code_ends_the_kernel_and_says_so(
    toolset: CodeToolset, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="core.code.kernel")
    session = "test:exit"
    agent = code_agent(toolset, session=session)
    events = await turn(agent, "run kept = 1\nprint('bye')\nexit()")
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.text == "bye"
    result = code_result(events)
    assert result.is_error and "exit()" in result.content
    assert toolset.pool.assigned((session, "main")) is None
    events = await turn(agent, "run print('kept' in dir())")
    content = code_result(events).content
    assert content.startswith("[Note: this code ran in another Python kernel")
    assert content.endswith("False")
