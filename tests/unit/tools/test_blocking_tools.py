"""A plain ``def`` tool runs in a thread of its own: it blocks neither the loop
nor the process's exit, its time limit cuts it off, and what it raises or
returns reaches the model as before."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from core import Agent, MemorySessionStore, Response, ToolOutput
from core.agent.execute import ToolRun, execute_tool
from core.errors import ToolError
from core.providers.scripted import ScriptedProvider
from core.tools import Tool, ToolContext
from tests.unit.agent.helpers import collect, script

REQUEST = contextvars.ContextVar("REQUEST", default="none")


async def _ticks_while(call: asyncio.Future[str] | asyncio.Task[str]) -> int:
    """How often a 10 ms sleep came round on the loop while ``call`` ran."""
    ticks = 0
    while not call.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_blocking_tool_leaves_the_loop_free() -> None:
    where: list[threading.Thread] = []

    def slow_lookup(seconds: float) -> str:
        where.append(threading.current_thread())
        time.sleep(seconds)
        return "found"

    call = asyncio.ensure_future(Tool(slow_lookup).call({"seconds": 0.4}))
    ticks = await _ticks_while(call)
    assert call.result() == "found"
    assert ticks >= 10  # on the loop it would have been 0 or 1
    assert where[0] is not threading.main_thread()
    assert where[0].daemon
    assert where[0].name == "facio-tool-slow_lookup"


async def test_an_async_tool_runs_on_the_loop() -> None:
    where: list[threading.Thread] = []

    async def lookup() -> str:
        where.append(threading.current_thread())
        return "ok"

    class Finder:
        async def find(self) -> str:
            where.append(threading.current_thread())
            return "ok"

    assert await Tool(lookup).call({}) == "ok"
    assert await Tool(Finder().find).call({}) == "ok"
    assert where == [threading.main_thread()] * 2


async def test_the_thread_sees_the_callers_context_and_arguments() -> None:
    def whoami(prefix: str, context: ToolContext) -> str:
        return f"{prefix}:{REQUEST.get()}:{context.session_key}"

    REQUEST.set("req-7")
    context = ToolContext(session_key="telegram:42")
    assert await Tool(whoami).call({"prefix": "p"}, context) == "p:req-7:telegram:42"


@pytest.mark.parametrize(
    ("raised", "expected", "text"),
    [
        (ToolError("no such invoice"), ToolError, "no such invoice"),
        (ValueError("bad amount"), ValueError, "bad amount"),
        (SystemExit(3), RuntimeError, "raised SystemExit: 3"),
        (KeyboardInterrupt(), RuntimeError, "raised KeyboardInterrupt"),
        (StopIteration("done"), RuntimeError, "raised StopIteration: done"),
    ],
)
async def test_what_the_thread_raises_reaches_the_caller(
    raised: BaseException, expected: type[BaseException], text: str
) -> None:
    def failing() -> str:
        raise raised

    with pytest.raises(expected, match=text):
        await Tool(failing).call({})


async def test_a_blocking_tool_returning_an_awaitable_is_awaited_on_the_loop() -> None:
    async def later() -> str:
        return str(threading.current_thread() is threading.main_thread())

    def deferred() -> object:
        return later()

    assert await Tool(deferred).call({}) == "True"


async def test_the_time_limit_cuts_a_blocking_tool_off() -> None:
    release = threading.Event()
    finished = threading.Event()

    def stuck() -> str:
        release.wait(10)
        finished.set()
        return "too late"

    run = ToolRun()
    started = time.monotonic()
    async for _ in execute_tool(Tool(stuck), {}, ToolContext(), run, timeout=0.2):
        pass
    elapsed = time.monotonic() - started
    assert (run.content, run.is_error) == ("stuck timed out after 0.2 s", True)
    assert elapsed < 2
    assert not finished.is_set()  # still running in its thread, unobserved
    release.set()
    assert await asyncio.to_thread(finished.wait, 5)
    await asyncio.sleep(0.05)  # its late outcome arrives at a cancelled wait: dropped


async def test_a_conversation_goes_on_while_another_waits_in_a_blocking_tool() -> None:
    release = threading.Event()

    def fetch_report() -> str:
        """Fetch the report (a synchronous HTTP call, say)."""
        release.wait(10)
        return "report"

    sc = script(
        {"on": "user", "match": "report", "toolCalls": [{"name": "fetch_report"}]},
        {"on": "tool", "match": "(?P<r>.*)", "text": "got \\g<r>"},
        {"on": "user", "match": "hello", "text": "hi there"},
    )
    store = MemorySessionStore()
    provider = ScriptedProvider(sc)
    blocked = Agent(provider, tools=[Tool(fetch_report)], store=store, session_key="t:a")
    other = Agent(provider, tools=[Tool(fetch_report)], store=store, session_key="t:b")
    waiting = asyncio.ensure_future(collect(blocked.stream("the report please")))
    answered = await asyncio.wait_for(collect(other.stream("hello")), 5)
    assert isinstance(answered[-1], Response) and answered[-1].content == "hi there"
    assert not waiting.done()  # still in its tool
    release.set()
    events = await asyncio.wait_for(waiting, 5)
    assert [e.content for e in events if isinstance(e, ToolOutput)] == ["report"]
    assert isinstance(events[-1], Response) and events[-1].content == "got report"


def test_a_stuck_tool_does_not_keep_the_process_alive() -> None:
    script = textwrap.dedent(
        """
        import asyncio, time
        from core.tools import Tool

        def stuck() -> str:
            time.sleep(600)
            return "never"

        async def main() -> None:
            try:
                await asyncio.wait_for(Tool(stuck).call({}), 0.2)
            except TimeoutError:
                print("cut off", flush=True)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "cut off\n"
