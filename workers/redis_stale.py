"""Finding and stopping a redis-server left behind by an earlier, crashed run.

When ``facio up`` dies without its orderly shutdown (SIGKILL, a power cut of
the terminal), its embedded redis-server lives on in its own process group,
still holding the workspace's socket and AOF. The next start must stop it
first, but must never signal a process that merely inherited the pid: a pid
counts as ours only if ``/proc`` shows a live ``redis-server`` whose working
directory is our data directory (redis-server ``chdir``s to ``--dir``).

Linux only: without ``/proc`` nothing is recognised, so nothing is killed;
the stale pidfile is removed and a warning logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

PROC = Path("/proc")
SERVER_NAME = "redis-server"


def read_pid(pidfile: Path) -> int | None:
    """The pid written in ``pidfile``; None when it is missing or not a number."""
    try:
        text = pidfile.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def is_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # no /proc: trust kill(0)
    # "pid (comm) S ..." — comm may hold spaces and parentheses, the state follows the last ")"
    state = stat.rpartition(")")[2].split()[:1]
    return state in (["Z"], ["X"])


def is_our_redis(pid: int, data_dir: Path) -> bool:
    """True when ``pid`` is a live redis-server working in ``data_dir``."""
    proc = PROC / str(pid)
    try:
        comm = (proc / "comm").read_text(encoding="utf-8", errors="replace").strip()
        cwd = Path(os.readlink(proc / "cwd"))
    except OSError:
        return False
    return comm == SERVER_NAME and cwd == data_dir.resolve() and not is_gone(pid)


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited on its own meanwhile
        os.kill(pid, signum)


async def wait_gone(pid: int, timeout: float) -> bool:
    """Poll until ``pid`` has exited; False when it still runs after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not is_gone(pid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def stop_stale(pidfile: Path, data_dir: Path, *, timeout: float = 5.0) -> None:
    """Stop the redis-server named by ``pidfile`` if it is ours, then remove the pidfile.

    SIGTERM first, so that an AOF is flushed; SIGKILL when it does not exit
    within ``timeout`` seconds.
    """
    pid = read_pid(pidfile)
    if pid is not None and is_our_redis(pid, data_dir):
        log.warning("stopping redis-server %d left running by an earlier run in %s", pid, data_dir)
        _signal(pid, signal.SIGTERM)
        if not await wait_gone(pid, timeout):
            log.warning("redis-server %d ignored SIGTERM for %.0f s; killing it", pid, timeout)
            _signal(pid, signal.SIGKILL)
            await wait_gone(pid, timeout)
    elif pid is not None and not PROC.is_dir():
        log.warning("cannot check pid %d from %s without /proc; not stopping it", pid, pidfile)
    pidfile.unlink(missing_ok=True)
