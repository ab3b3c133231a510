"""The SDK's first code action: how long it takes, with and without ``Facio.start()``.

An app makes its bot, and its first message comes ``--gap`` seconds later:
"run print(6*7)" on the scripted ``code`` model (``code.poolSize`` 1, sandbox
as the machine allows), approved at once. Timed from ``agent.stream(...)`` to
the ``CodeExecutionOutput`` event. ``agent`` mode only calls ``bot.agent()``
when the message comes; ``start`` mode also enters ``async with bot`` (which
calls ``Facio.start()``) when the bot is made. Each run is a fresh process
state: a new workspace, a new bot, closed at the end.

Run: .venv/bin/python -m tests.bench.sdk_first_code_action [--gap 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from core.config import parse_config
from facio import ApprovalRequest, CodeExecutionOutput, Facio

PROMPT = "run print(6*7)"


def _bot(folder: Path) -> Facio:
    data = {
        "workspace": "ws",
        "agent": {"model": "scripted:code"},
        "bots": {"main": {"preset": "assistant"}},
        "code": {"poolSize": 1},
    }
    return Facio(parse_config(data, base_dir=folder, env={}))


async def _first_action(bot: Facio) -> float:
    async with bot.agent("bench:first") as agent:
        started = time.perf_counter()
        async for event in agent.stream(PROMPT):
            if isinstance(event, ApprovalRequest):
                event.approve(True)
            elif isinstance(event, CodeExecutionOutput):
                assert event.text.strip() == "42", event
                return time.perf_counter() - started
    raise AssertionError("no code output")


async def _run(mode: str, gap: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        bot = _bot(Path(folder))
        async with contextlib.AsyncExitStack() as stack:
            if mode == "start":
                await stack.enter_async_context(bot)
            else:
                stack.push_async_callback(bot.aclose)
            await asyncio.sleep(gap)  # the app does other things; no message yet
            return await _first_action(bot)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gap", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="agent,start")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        samples = [await _run(mode, args.gap) for _ in range(args.runs)]
        shown = ", ".join(f"{s:.2f}" for s in samples)
        print(f"{mode}: median {statistics.median(samples):.2f} s ({shown}) gap {args.gap:g} s")


if __name__ == "__main__":
    asyncio.run(main())
