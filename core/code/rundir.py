"""A kernel's run folder: a short, private path for its sockets and the files that start it.

    <tmp>/facio-kernel-XXXXXXXX/
        tool.sock                the host's tool server, as the kernel may use it
        host/tool.sock           the same, with the approval channel: facio's only (mode
                                 0700; a sandbox sees an empty folder there)
      sandboxed kernels only:
        launch.json, jupyter/    how the gateway starts the sandbox (kernelspec, launch spec)
        kernel-<id>.json         the connection file; kernel-<id>-ipc-<n>: its ZMQ sockets
        status.json              bubblewrap's: the sandbox's pid, at the end the exit code
        passwd, group, sessions/ what the sandbox mounts; stage/: see sandbox.launch

A unix socket path holds at most 107 bytes: hence the temp folder rather than
the workspace. The folder is removed when its kernel stops; the process
registry records it, so one left by a facio that died is removed by the next.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PREFIX", "RunDir", "is_run_dir"]

PREFIX = "facio-kernel-"


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` names a run folder (the registry's sweep removes nothing else)."""
    return path.parent == Path(tempfile.gettempdir()) and path.name.startswith(PREFIX)


@dataclass(frozen=True)
class RunDir:
    """One kernel's run folder."""

    path: Path

    @classmethod
    def create(cls) -> RunDir:
        """A new folder, readable by this user only (mode 0700)."""
        run = cls(Path(tempfile.mkdtemp(prefix=PREFIX)))
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
