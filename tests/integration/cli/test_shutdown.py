"""Ctrl-C: the first asks for an orderly stop; a second one, or a stop stuck past the
deadline, ends the process at once, says where it was stuck, and stops the embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A program that starts an embedded Redis, installs the signals, and then, asked to
# stop, never finishes stopping (as a stuck shutdown would).
STUCK = """
import asyncio, sys
from pathlib import Path
from facio.cli.shutdown import StopSignals
from workers.redis_server import EmbeddedRedis

async def main() -> None:
    folder = Path(sys.argv[1])
    redis = EmbeddedRedis(folder, unix_socket=folder / "r.sock", appendonly=True)
    await redis.start()
    signals = StopSignals("test", deadline=float(sys.argv[2]))
    signals.install()
    print(redis.pid, flush=True)  # ready: the signals are ours
    await signals.stop.wait()
    await asyncio.Event().wait()  # the orderly stop hangs here

asyncio.run(main())
"""


def _start(tmp_path: Path, deadline: float) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(tmp_path / "redis"), str(deadline)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    redis_pid = int(process.stdout.readline())
    return process, redis_pid


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("how", ["deadline", "second signal"])
def test_a_stuck_stop_is_forced_and_says_where_it_was(tmp_path: Path, how: str) -> None:
    process, redis_pid = _start(tmp_path, deadline=1.0 if how == "deadline" else 60.0)
    process.send_signal(signal.SIGINT)
    if how == "second signal":
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "facio test: stopping (again to stop at once)" in err
    reason = "1 s" if how == "deadline" else "a second signal"
    assert f"facio test: still stopping after {reason}; stopping now" in err
    assert "Thread" in err and "File " in err  # the stacks of where it was stuck
    for _ in range(50):  # the embedded Redis was stopped, not left behind
        if _gone(redis_pid):
            break
        time.sleep(0.1)
    assert _gone(redis_pid)
