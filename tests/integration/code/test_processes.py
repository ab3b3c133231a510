"""Process hygiene: a killed facio leaves no kernel or gateway running, nor what its code started.

Real processes only: a facio host runs a real kernel and is SIGKILLed; the
registry's sweep is tested on a process whose owner really died.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from core.code import CodeToolset
from core.code.paths import CodePaths
from core.code.procs import ProcessRegistry
from core.config import CodeConfig
from tests.integration.code.support import KERNEL_TIMEOUT

ROOT = Path(__file__).resolve().parents[3]
HOST = ROOT / "tests" / "fakes" / "code_host.py"


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


async def _gone(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while _alive(pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return _alive(pids)


async def test_a_sigkilled_host_leaves_no_kernel_nor_its_processes_behind(
    tmp_path: Path,
) -> None:
    host = subprocess.Popen(
        [sys.executable, str(HOST), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert host.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(host.stdout.readline), KERNEL_TIMEOUT)
        pids: list[int] = json.loads(line)["pids"]
        started: int = json.loads(line)["started"]  # by the code, in the kernel's group
        run = Path(json.loads(line)["run"])  # the kernel's run folder (its sockets)
        assert run.is_dir()
        assert len(pids) >= 2 and not set(pids) & {host.pid}  # a gateway and its kernel
        assert list(CodePaths(tmp_path).procs_dir.glob("*.json"))  # recorded
        assert _alive([*pids, started]) == [*pids, started]
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    # the next facio on this workspace sweeps whatever might be left
    toolset = CodeToolset(CodeConfig(pool_size=0), tmp_path)
    try:
        await asyncio.wait_for(toolset.ready(), KERNEL_TIMEOUT)
        assert await _gone([*pids, started], within=15) == []
        assert not list(CodePaths(tmp_path).procs_dir.glob("*.json"))
        assert not run.exists()
    finally:
        await toolset.aclose()


async def test_the_sweep_kills_what_a_dead_owner_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "procs"
    # an owner that starts a long-lived process, records it and dies without cleaning up
    owner = (
        "import subprocess, sys, os\n"
        "from core.code.procs import ProcessRegistry\n"
        "from pathlib import Path\n"
        "child = subprocess.Popen(['sleep', '600'], start_new_session=True,\n"
        "                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "ProcessRegistry(Path(sys.argv[1])).track('gateway-1', [child.pid])\n"
        "print(child.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", owner, str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=True,
    )
    orphan = int(done.stdout)
    assert _alive([orphan]) == [orphan]
    live = ProcessRegistry(folder)
    live.track("mine", [os.getpid()])  # this process's own record is never swept
    assert await asyncio.to_thread(live.sweep) == 1
    assert await _gone([orphan], within=5) == []
    assert [p.name for p in folder.glob("*.json")] == [live.path.name]
    live.forget("mine")
    assert not live.path.exists()


def test_a_live_owner_is_left_alone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        mine = ProcessRegistry(tmp_path)
        mine.track("k", [sleeper.pid])
        other = ProcessRegistry(tmp_path)  # same process: its owner is alive
        other.path = tmp_path / "other.json"
        assert other.sweep() == 0
        assert _alive([sleeper.pid]) == [sleeper.pid]
    finally:
        sleeper.kill()
        sleeper.wait()
