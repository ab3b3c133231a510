"""Ctrl-C for the long-running commands (``facio up``, ``facio gateway``).

The first SIGINT or SIGTERM asks for an orderly stop: running turns are
handed back, the gateway closes, the embedded Redis flushes its AOF. A second
signal — or an orderly stop still running after ``SHUTDOWN_DEADLINE`` seconds
— ends the process at once: it prints where it was stuck (every thread's
stack and, when the event loop still answers, every task's), stops the
embedded Redis (SIGTERM, so the AOF is flushed) and exits with status 1.
Queued turns and pending approvals live in Redis, so nothing is lost; a turn
that was running continues on the next start.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import signal
import sys
import threading
import time

from workers.redis_server import stop_all_now

__all__ = ["SHUTDOWN_DEADLINE", "StopSignals"]

SHUTDOWN_DEADLINE = 40.0
"""Seconds an orderly stop may take (worker grace 10 s, HTTP shutdown 10 s, Redis 5 s)."""
EXIT_FORCED = 1


class StopSignals:
    """``stop`` is set by the first signal; the second (or the deadline) forces the exit."""

    def __init__(self, command: str, *, deadline: float = SHUTDOWN_DEADLINE) -> None:
        self.command = command
        self.deadline = deadline
        self.stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: threading.Timer | None = None

    def install(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self._signalled)

    def remove(self) -> None:
        """The orderly stop finished: no forcing any more."""
        if self._timer is not None:
            self._timer.cancel()
        if self._loop is not None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.remove_signal_handler(sig)

    def _signalled(self) -> None:
        if self.stop.is_set():
            self._force("a second signal")
            return
        self.stop.set()
        print(
            f"facio {self.command}: stopping (again to stop at once)", file=sys.stderr, flush=True
        )
        self._timer = threading.Timer(self.deadline, self._force, (f"{self.deadline:g} s",))
        self._timer.daemon = True
        self._timer.start()

    def _force(self, why: str) -> None:
        print(
            f"facio {self.command}: still stopping after {why}; stopping now. Where it was:",
            file=sys.stderr,
            flush=True,
        )
        if threading.current_thread() is threading.main_thread():
            _print_tasks()  # a second signal: we are on the event loop
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(_print_tasks)
            time.sleep(0.5)  # a loop that still runs prints its tasks meanwhile
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        stop_all_now()
        os._exit(EXIT_FORCED)


def _print_tasks() -> None:
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)
