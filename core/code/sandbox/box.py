"""One kernel's sandbox: what its gateway starts it from, binding it to a session, its state.

The files go in the kernel's run folder (``core.code.rundir``); the gateway
finds the kernelspec through ``JUPYTER_PATH`` and writes the connection file
and the ZMQ sockets there (``JUPYTER_RUNTIME_DIR``), which the sandbox sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.code.rundir import RunDir
from core.code.sandbox.policy import HIDDEN_SESSIONS, KERNEL_NAME, SandboxPolicy

__all__ = ["Sandbox", "SandboxStatus", "write_identity"]

LAUNCH = Path(__file__).with_name("launch.py")
"""The kernelspec's command: run by the gateway, outside the sandbox."""
MOUNT = Path(__file__).with_name("mount.py")
"""Run by facio to bind a sandbox to its session."""


@dataclass(frozen=True)
class SandboxStatus:
    """What bubblewrap reported: the sandbox's first process, and how the kernel ended."""

    pid: int | None = None
    """The sandbox's init (its pid 1), as this process sees it."""
    exit_code: int | None = None
    """The kernel's exit code, 128 + the signal if a signal ended it."""

    @classmethod
    def parse(cls, text: str) -> SandboxStatus:
        """Bubblewrap writes one JSON document at start and one at the end."""
        decoder = json.JSONDecoder()
        merged: dict[str, object] = {}
        position = 0
        while position < len(text):
            if text[position].isspace():
                position += 1
                continue
            document, position = decoder.raw_decode(text, position)
            merged |= document
        pid, code = merged.get("child-pid"), merged.get("exit-code")
        return cls(pid if isinstance(pid, int) else None, code if isinstance(code, int) else None)


class Sandbox:
    """The sandbox of one kernel; see the package docstring."""

    gateway_options = ("--KernelManager.transport=ipc",)
    """ZMQ over unix sockets in the run folder: facio cannot reach into its network."""
    kernel_name = KERNEL_NAME

    def __init__(self, policy: SandboxPolicy, run: RunDir) -> None:
        self.policy = policy
        self.run = run

    def prepare(self) -> None:
        """Write what the gateway starts the sandbox from (before the gateway starts)."""
        folder = self.run.path
        write_identity(self.policy, folder)
        (folder / "sessions").mkdir(mode=0o755)
        self.policy.sessions.mkdir(parents=True, exist_ok=True)
        spec = folder / "launch.json"
        command = self.policy.kernel_command()
        spec.write_text(json.dumps(self.policy.launch_spec(folder, command)), encoding="utf-8")
        kernelspec = {
            "argv": [sys.executable, "-I", "-S", str(LAUNCH), str(spec), "{connection_file}"],
            "display_name": "Python (facio sandbox)",
            "language": "python",
            "interrupt_mode": "message",  # a signal would reach bubblewrap, not the kernel
            "metadata": {},
        }
        specs = folder / "jupyter" / "kernels" / KERNEL_NAME
        specs.mkdir(parents=True)
        (specs / "kernel.json").write_text(json.dumps(kernelspec), encoding="utf-8")

    def gateway_env(self) -> dict[str, str]:
        return {
            "JUPYTER_PATH": str(self.run.path / "jupyter"),
            "JUPYTER_RUNTIME_DIR": str(self.run.path),
        }

    def status(self) -> SandboxStatus:
        try:
            return SandboxStatus.parse((self.run.path / "status.json").read_text("utf-8"))
        except (OSError, ValueError):  # not started yet, or being written
            return SandboxStatus()

    def processes(self) -> list[psutil.Process]:
        """Every process in the sandbox now (its init first)."""
        pid = self.status().pid
        if pid is None:
            return []
        try:
            init = psutil.Process(pid)
            return [init, *init.children(recursive=True)]
        except psutil.Error:
            return []

    def tasks(self) -> int:
        """Processes and threads in the sandbox now: what its process limit counts."""
        count = 0
        for process in self.processes():
            try:
                count += process.num_threads()
            except psutil.Error:  # gone meanwhile
                continue
        return count

    async def bind(self, folder: Path) -> None:
        """Make ``folder`` (a session's) the sandbox's only session folder, read-write.
        Run before the session's first cell."""
        pid = self.status().pid
        if pid is None or not psutil.pid_exists(pid):
            raise RuntimeError("the sandbox is not running")
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            await asyncio.to_thread(_give, folder, self.policy.uid, self.policy.gid)
        (self.run.path / "sessions" / folder.name).mkdir(exist_ok=True)
        helper = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-S",
            str(MOUNT),
            str(pid),
            HIDDEN_SESSIONS,
            folder.name,
            str(folder),
            str(self.run.path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await helper.communicate()
        if helper.returncode != 0:
            said = stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"binding the sandbox failed: {said[-1] if said else 'no reason'}")


def write_identity(policy: SandboxPolicy, folder: Path) -> None:
    """The sandbox's /etc/passwd and /etc/group, the empty folder it sees in place of
    facio's side of the run folder, and the run folder its user's."""
    for name, text in (("passwd", policy.passwd()), ("group", policy.group())):
        (folder / name).write_text(text, encoding="utf-8")
        (folder / name).chmod(0o644)
    (folder / "empty").mkdir(mode=0o555, exist_ok=True)
    if os.geteuid() == 0:  # the sandbox's user writes its sockets there
        os.chown(folder, policy.uid, policy.gid)


def _give(folder: Path, uid: int, gid: int) -> None:
    """Let the sandbox's user own the session folder and its ``images/``.

    Not what is in them: files facio's user put there before stay its own
    (readable by the code, not writable). Nothing here follows a symbolic
    link the code may have made (other kernels of the session may be running
    code meanwhile): a walk through the folder could be led anywhere.
    """
    os.chown(folder, uid, gid, follow_symlinks=False)
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir("images", 0o755, dir_fd=handle)
        os.chown("images", uid, gid, dir_fd=handle, follow_symlinks=False)
    finally:
        os.close(handle)
