"""Code actions through Agent.stream with a real kernel (ipybox, Jupyter kernel gateway).

One toolset (one warm kernel per session) is shared by the module, so the
kernel start is paid a few times, not per test. Tests use their own session
keys where they need a kernel of their own.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core import (
    ApprovalRequest,
    CodeExecutionOutput,
    CodeExecutionOutputChunk,
    Response,
    ToolOutput,
)
from core.code import EXECUTE_TOOL, CodeToolset
from core.config import CodeConfig
from core.paths import session_name
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

SECRET = "FACIO_TEST_SECRET"
LIMIT = 2_000
# a 1×1 PNG
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolset(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CodeToolset]:
    config = CodeConfig(pool_size=1, kernel_init_timeout=KERNEL_TIMEOUT, max_output_chars=LIMIT)
    toolset = CodeToolset(config, tmp_path_factory.mktemp("code"))
    await ready(toolset)
    try:
        yield toolset
    finally:
        await toolset.aclose()


def session_dir(toolset: CodeToolset, session: str = "test:code") -> Path:
    return toolset.paths.workspace / "sessions" / session_name(session)


async def test_approved_code_streams_42_to_the_person_and_the_model(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    events = await turn(agent, "run print(6*7)")
    (request,) = of_type(events, ApprovalRequest)
    assert request.tool_name == EXECUTE_TOOL
    assert request.tool_args == {"code": "print(6*7)"}
    assert "".join(c.text for c in of_type(events, CodeExecutionOutputChunk)) == "42\n"
    (output,) = of_type(events, CodeExecutionOutput)
    assert (output.text, output.error, output.truncated, output.images) == ("42", None, False, ())
    assert code_result(events).content == "42"
    assert not code_result(events).is_error
    assert isinstance(events[-1], Response) and events[-1].content == "Result:\n42"


async def test_a_variable_persists_into_the_next_turn(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    await turn(agent, "run answer = 41")
    events = await turn(agent, "run print(answer + 1)")
    assert code_result(events).content == "42"
    assert "another Python kernel" not in code_result(events).content


async def test_a_rejected_code_action_never_runs(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    events = await turn(agent, "run open('rejected.txt', 'w').write('ran')", answer=False)
    assert not of_type(events, CodeExecutionOutput)
    assert isinstance(events[-1], Response) and events[-1].content.startswith("Rejected")
    await turn(agent, "run print('next')")  # a cell that does run, in the same folder
    assert not (session_dir(toolset) / "rejected.txt").exists()


async def test_a_failing_cell_is_a_result_with_the_traceback(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    code = "print('before')\ndef check(x):\n    raise ValueError(f'bad input {x}')\ncheck(7)"
    events = await turn(agent, f"run {code}")
    result = code_result(events)
    assert result.is_error
    assert result.content.startswith("before\nError:\nValueError: bad input 7")
    assert "----> 4 check(7)" in result.content  # the traceback, pointing at the line
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.text == "before"
    assert output.error is not None and "ValueError: bad input 7" in output.error
    last = events[-1]  # the turn went on: the model saw the failure
    assert isinstance(last, Response) and "ValueError" in last.content


async def test_an_error_naming_the_folder_shows_it_as_the_code_sees_it(
    toolset: CodeToolset,
) -> None:
    """A traceback names files by absolute path: the person and the model see them relative
    to the code's folder (or the workspace), never where the server keeps them."""
    agent = code_agent(toolset, session="test:paths")
    code = "import os\nopen(os.path.join(os.getcwd(), 'data', 'in.csv'))"
    events = await turn(agent, f"run {code}")
    result = code_result(events)
    assert result.is_error
    assert "No such file or directory: 'data/in.csv'" in result.content
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.error is not None and "'data/in.csv'" in output.error
    workspace = str(toolset.paths.workspace)
    for shown in (result.content, output.error, events[-1].content):  # type: ignore[union-attr]
        assert workspace not in shown and session_name("test:paths") not in shown


async def test_huge_output_is_cut_in_the_middle_and_flagged(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    events = await turn(agent, "run print('a' * 30000 + 'END')")
    streamed = "".join(c.text for c in of_type(events, CodeExecutionOutputChunk))
    assert len(streamed) < LIMIT + 100 and "the chat shows no more" in streamed
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.truncated
    content = code_result(events).content
    assert len(content) < LIMIT + 200
    assert content.startswith("aaa") and content.endswith("aEND")
    assert "characters of output left out (30004 in all)" in content


async def test_an_image_is_saved_in_the_session_folder(toolset: CodeToolset) -> None:
    agent = code_agent(toolset)
    code = (
        "import base64\nfrom IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode('{base64.b64encode(PIXEL).decode()}')))"
    )
    events = await turn(agent, f"run {code}")
    (output,) = of_type(events, CodeExecutionOutput)
    (image,) = output.images
    path = Path(image)
    assert path.parent == session_dir(toolset) / "images"
    assert path.read_bytes() == PIXEL
    assert f"[images saved: images/{path.name}]" in code_result(events).content


async def test_the_kernel_has_pandas_and_a_matplotlib_chart_becomes_an_image(
    toolset: CodeToolset,
) -> None:
    """What docs/code-actions.md promises: the ``data`` extra (installed by dev.py) in the
    kernel, a chart shown with ``plt.show()`` saved as a PNG in the session's folder."""
    agent = code_agent(toolset)
    code = (
        "import numpy as np, pandas as pd, matplotlib.pyplot as plt\n"
        "frame = pd.DataFrame({'x': np.arange(4), 'y': np.arange(4) ** 2})\n"
        "print(int(frame['y'].sum()))\n"
        "frame.plot(x='x', y='y')\n"
        "plt.show()"
    )
    events = await turn(agent, f"run {code}")
    (output,) = of_type(events, CodeExecutionOutput)
    assert output.error is None, output.text
    assert output.text.splitlines()[0] == "14"
    (image,) = output.images
    path = Path(image)
    assert path.parent == session_dir(toolset) / "images"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_without_a_sandbox_the_kernel_sees_only_the_environment_config_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET, "host-only")  # in the host's environment when the kernel starts
    config = CodeConfig(
        pool_size=0,
        kernel_init_timeout=KERNEL_TIMEOUT,
        env={"FACIO_KERNEL_VISIBLE": "granted"},
        sandbox="off",  # without a sandbox too (test_sandbox.py has the sandboxed case)
    )
    toolset = CodeToolset(config, tmp_path)
    try:
        code = (
            f"import os\nprint(os.getenv('{SECRET}'), os.getenv('FACIO_KERNEL_VISIBLE'))\n"
            "print(os.getuid())\n!echo linked"
        )
        events = await turn(code_agent(toolset), f"run {code}")
    finally:
        await toolset.aclose()
    assert toolset.sandbox is None
    assert os.environ[SECRET] == "host-only"
    assert code_result(events).content == f"None granted\n{os.getuid()}\nlinked"


async def test_the_working_directory_is_the_session_folder_and_is_kept(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:cwd")
    events = await turn(agent, "run import os\nprint(os.getcwd())\nos.chdir('/')")
    content = code_result(events).content
    assert content.startswith(str(session_dir(toolset, "test:cwd")))
    assert "working directory reset to" in content
    events = await turn(agent, "run print(os.getcwd())")
    assert code_result(events).content == str(session_dir(toolset, "test:cwd"))


async def test_a_timeout_interrupts_the_code_and_the_kernel_still_works(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, execution_timeout=2)
    events = await turn(
        agent, "run kept = 'yes'\nimport time\nfor _ in range(600): time.sleep(0.1)"
    )
    result = code_result(events)
    assert result.is_error
    assert "Timed out: the code ran longer than its 2 s limit" in result.content
    assert "The kernel is still running" in result.content
    events = await turn(agent, "run print(kept)")
    assert code_result(events).content == "yes"


async def test_a_kernel_that_ignores_the_interrupt_is_replaced(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, session="test:stubborn", execution_timeout=2)
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(120)"
    events = await turn(agent, f"run {code}")
    result = code_result(events)
    assert result.is_error and "did not respond to the interrupt and was stopped" in result.content
    assert toolset.pool.assigned(("test:stubborn", "main")) is None  # stopped at once
    events = await turn(agent, "run print('fresh')")
    content = code_result(events).content
    assert content.startswith("[Note: this code ran in another Python kernel")
    assert content.endswith("fresh")


async def test_approval_waits_do_not_count_as_execution_time(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, execution_timeout=2)

    async def slow_person() -> list[object]:
        events: list[object] = []
        async for event in agent.stream("run !echo waited"):
            events.append(event)
            if isinstance(event, ApprovalRequest):
                if event.tool_name == "shell":
                    await asyncio.sleep(3)  # longer than the execution timeout
                event.approve(True)
        return events

    events = await asyncio.wait_for(slow_person(), KERNEL_TIMEOUT)
    (result,) = [e for e in events if isinstance(e, ToolOutput)]
    assert (result.content, result.is_error) == ("waited", False)


async def test_a_shell_escape_asks_as_shell_and_runs_only_if_approved(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:shell")
    folder = session_dir(toolset, "test:shell")

    def only_the_cell(request: ApprovalRequest) -> bool:
        return request.tool_name == EXECUTE_TOOL

    events = await turn(agent, "run !echo hi > shell.txt", answer=only_the_cell)
    inner = [r for r in of_type(events, ApprovalRequest) if r.tool_name == "shell"]
    assert [(r.tool_args, r.parkable) for r in inner] == [
        ({"command": "echo hi > shell.txt"}, False)
    ]
    assert inner[0].tool_call_id.startswith(code_result(events).tool_call_id + "/")
    assert "ApprovalRejectedError" in code_result(events).content
    assert isinstance(events[-1], Response) and events[-1].content.startswith("Rejected")
    assert not (folder / "shell.txt").exists()

    events = await turn(agent, "run %%bash\necho magic > shell.txt")
    bash = [r for r in of_type(events, ApprovalRequest) if r.tool_name == "shell"]
    assert [r.tool_args for r in bash] == [{"command": "echo magic > shell.txt\n"}]
    assert (folder / "shell.txt").read_text() == "magic\n"


async def test_shell_escapes_still_reach_facio_once_the_code_imported_mcpygen(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:shell")
    code = "import mcpygen\nprint(mcpygen.ApprovalRequestor.__module__)\n!echo linked"
    events = await turn(agent, f"run {code}")
    assert code_result(events).content == "facio_kernel\nlinked"
    assert [r.tool_name for r in of_type(events, ApprovalRequest)] == [EXECUTE_TOOL, "shell"]


async def test_several_approvals_pending_at_once_are_answered_in_any_order(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:parallel")
    code = two_shell_calls("outs")
    pending: list[ApprovalRequest] = []

    async def play() -> list[object]:
        events: list[object] = []
        async for event in agent.stream(f"run {code}"):
            events.append(event)
            if isinstance(event, ApprovalRequest) and event.tool_name == EXECUTE_TOOL:
                event.approve(True)
            elif isinstance(event, ApprovalRequest):
                pending.append(event)
                if len(pending) == 2:  # both wait at once: answer the later one first
                    assert pending[0].decision is None
                    pending[1].approve(True)
                    await asyncio.sleep(0.2)
                    pending[0].approve(True)
        return events

    events = await asyncio.wait_for(play(), KERNEL_TIMEOUT)
    assert sorted(r.tool_args["command"] for r in pending) == ["echo t1", "echo t2"]
    assert len({r.approval_id for r in pending}) == 2
    assert len({r.tool_call_id for r in pending}) == 2
    (result,) = [e for e in events if isinstance(e, ToolOutput)]
    assert "['t1'], ['t2']" in result.content or "['t1', 't2']" in result.content


async def _until_shell_request(agent_stream: AsyncIterator[object]) -> ApprovalRequest:
    async for event in agent_stream:
        if isinstance(event, ApprovalRequest):
            if event.tool_name == EXECUTE_TOOL:
                event.approve(True)
            else:
                return event
    raise AssertionError("no shell approval was asked")


async def test_cancelling_the_turn_with_an_approval_pending_rejects_it(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:cancel")
    got: asyncio.Future[ApprovalRequest] = asyncio.get_running_loop().create_future()

    async def play() -> None:
        async for event in agent.stream("run marker = 'kept'\n!echo ran > cancelled.txt"):
            if isinstance(event, ApprovalRequest):
                if event.tool_name == EXECUTE_TOOL:
                    event.approve(True)
                else:
                    got.set_result(event)

    task = asyncio.create_task(play())
    request = await asyncio.wait_for(got, KERNEL_TIMEOUT)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)  # no deadlock
    assert done
    assert request.decision is False
    events = await turn(agent, "run print(marker)", timeout=30)
    assert code_result(events).content == "kept"  # same kernel, usable
    assert not (session_dir(toolset, "test:cancel") / "cancelled.txt").exists()


async def test_abandoning_the_stream_with_an_approval_pending_rejects_it(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:abandon")
    stream = agent.stream("run left = 'behind'\n!echo ran > abandoned.txt")
    request = await asyncio.wait_for(_until_shell_request(stream), KERNEL_TIMEOUT)
    await asyncio.wait_for(stream.aclose(), 30)  # the person walked away
    assert request.decision is False
    events = await turn(agent, "run print(left)", timeout=30)
    assert code_result(events).content == "behind"
    assert not (session_dir(toolset, "test:abandon") / "abandoned.txt").exists()


async def test_ipybox_reset_clears_the_state(toolset: CodeToolset) -> None:
    agent = code_agent(toolset, session="test:reset")
    await turn(agent, "run doomed = 1")
    events = await turn(agent, "reset the kernel")
    assert not of_type(events, ApprovalRequest)  # the preset's rule allows the reset
    (reset,) = of_type(events, ToolOutput)
    assert reset.tool_name == "ipybox_reset" and "reset" in reset.content
    events = await turn(agent, "run print('doomed' in globals())")
    assert code_result(events).content == "False"  # no "another kernel" note: it was asked for


async def test_another_process_running_the_session_is_announced(
    toolset: CodeToolset,
) -> None:
    agent = code_agent(toolset, session="test:moved")
    await turn(agent, "run here = 1")
    elsewhere = CodeToolset(
        CodeConfig(pool_size=0, kernel_init_timeout=KERNEL_TIMEOUT), toolset.paths.workspace
    )
    try:  # another worker on the same workspace takes the session's next turn
        events = await turn(code_agent(elsewhere, session="test:moved"), "run print(1)")
    finally:
        await elsewhere.aclose()
    content = code_result(events).content
    assert content.startswith("[Note: this code ran in another Python kernel")
    assert content.endswith("\n1")
