"""A kernel's run folder: a short, private path for its sockets and the files that start it.

    <tmp>/facio-kernel-<owner pid>-<its start>-XXXXXXXX/
        tool.sock                the host's tool server, as the kernel may use it
        host/tool.sock           the same, with the approval channel: facio's only (mode
                                 0700; a sandbox sees an empty folder there)
      sandboxed kernels only:
        launch.json, jupyter/    how the gateway starts the sandbox (kernelspec, launch spec)
        kernel-<id>.json         the connection file; kernel-<id>-ipc-<n>: its ZMQ sockets
        status.json              bubblewrap's: the sandbox's pid, at the end the exit code
        passwd, group, sessions/ what the sandbox mounts; stage/: see sandbox.launch

A unix socket path holds at most 107 bytes: hence the temp folder rather than
the workspace. The folder is removed when its kernel stops. Its name says
which facio process made it (pid and start time, as pids are reused): the
next code toolset to start, on any workspace, removes those whose maker is
gone (a facio killed mid-way; :func:`remove_orphans`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["PREFIX", "RunDir", "remove_orphans"]

PREFIX = "facio-kernel-"


def _maker(pid: int) -> str | None:
    """``<pid>-<start time in 1/100 s>``, as a run folder's name holds its maker."""
    try:
        return f"{pid}-{int(round(psutil.Process(pid).create_time(), 2) * 100)}"
    except psutil.Error:
        return None


def remove_orphans() -> int:
    """Remove the run folders whose maker is gone; how many.

    Only names this module makes are judged: ``facio-kernel-<pid>-<start>-…``.
    """
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid, _, rest = path.name.removeprefix(PREFIX).partition("-")
        start = rest.partition("-")[0]
        if not (pid.isdigit() and start.isdigit()) or _maker(int(pid)) == f"{pid}-{start}":
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


@dataclass(frozen=True)
class RunDir:
    """One kernel's run folder."""

    path: Path

    @classmethod
    def create(cls) -> RunDir:
        """A new folder, readable by this user only (mode 0700)."""
        run = cls(Path(tempfile.mkdtemp(prefix=f"{PREFIX}{_maker(os.getpid())}-")))
        run.host.mkdir(mode=0o700)
        return run

    @property
    def tool_socket(self) -> Path:
        """Where the host's tool server listens for this kernel (``FACIO_TOOL_SOCKET``)."""
        return self.path / "tool.sock"

    @property
    def host(self) -> Path:
        """facio's own folder in it, which no sandbox sees."""
        return self.path / "host"

    @property
    def host_socket(self) -> Path:
        """Where facio reaches the tool server's approval channel."""
        return self.host / "tool.sock"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
