"""Limit breaches: how each one shows, mapped once to what the model is told.

A limit reached shows in one of three ways:

- the kernel process dies: bubblewrap records its exit code, 128 + the
  signal. ``SIGXCPU`` is the CPU limit (the OS sends it at the soft limit;
  ``SIGKILL`` follows a second later if the code ignores it); ``SIGXFSZ``
  the file-size limit, when the code restored its default action (Python
  ignores it, so a write past the limit fails with ``EFBIG`` instead);
- the cell fails with ``MemoryError`` (an allocation past ``RLIMIT_DATA``) or
  ``EFBIG``: the kernel reports the limit (``kernel_link.LIMIT_MIME``);
- the sandbox is at its process limit when the cell ends: a fork fails with
  ``EAGAIN`` and what was started stays (a fork bomb keeps retrying).

Every breach ends the cell as :class:`~core.code.errors.LimitExceededError`
and the kernel is stopped: the next code action gets a fresh one.
"""

from __future__ import annotations

import signal
from enum import StrEnum

from core.config.models_code import CodeLimits

__all__ = ["Limit", "breach_text", "exit_limit", "exit_text"]


class Limit(StrEnum):
    """A limit, by its name in ``code.limits``."""

    MEMORY = "memoryMb"
    CPU = "cpuSeconds"
    PROCESSES = "processes"
    FILE_SIZE = "fileSizeMb"


def breach_text(limit: Limit, limits: CodeLimits) -> str:
    """What the model is told when the cell reached ``limit``."""
    what = {
        Limit.MEMORY: f"the cell used more than {limits.memory_mb} MiB of memory",
        Limit.CPU: f"the kernel used more than {limits.cpu_seconds} s of CPU time",
        Limit.PROCESSES: (
            f"the code ran more than {limits.processes} processes and threads at once"
        ),
        Limit.FILE_SIZE: f"the code wrote a file larger than {limits.file_size_mb} MiB",
    }[limit]
    return (
        f"{what} (code.limits.{limit.value}): the kernel was restarted, its variables are "
        "lost; the next code action runs in a new one"
    )


_SIGNALS = {signal.SIGXCPU: Limit.CPU, signal.SIGXFSZ: Limit.FILE_SIZE}


def exit_limit(code: int) -> Limit | None:
    """The limit an exit code (bubblewrap's: 128 + signal for a signal) says was reached."""
    if code <= 128:
        return None
    try:
        return _SIGNALS.get(signal.Signals(code - 128))
    except ValueError:
        return None


def exit_text(code: int) -> str:
    """How the kernel process ended, for an exit code that is no limit."""
    if code > 128:
        try:
            return f"was killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return f"exited with code {code}"
