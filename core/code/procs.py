"""Process hygiene: no kernel outlives the facio process that started it.

Each kernel is two processes: a Jupyter kernel gateway (started by us) and
the IPython kernel (started by the gateway, in its own session). Three
layers make sure a killed facio leaves nothing running:

1. The gateway is started through :func:`pdeathsig_command`: on Linux it
   asks the kernel to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``).
2. The gateway passes ``JPY_PARENT_PID`` to its kernels, and ipykernel
   exits when that parent goes away.
3. A :class:`ProcessRegistry` file per facio process, under the workspace,
   lists the gateway and kernel pids (with their start times, so a reused
   pid is never mistaken for ours). When a code toolset starts, it kills the
   processes of every registry file whose owner is dead, and removes it; it
   also removes the run folders (``core.code.rundir``) of facio processes
   that are gone, whichever workspace they served.
   The kernel leads a process group, and what the code started with
   ``subprocess`` is in it: layer 2 ends the kernel but not them, so the
   sweep also kills what is left of the group of a kernel that is gone.

A sandboxed kernel adds a fourth: bubblewrap is started with
``--die-with-parent`` (it dies with the gateway), and when the sandbox's
init dies the OS kills every process in its pid namespace, whatever
process group or session the code put them in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.code.rundir import remove_orphans

__all__ = ["Proc", "ProcessRegistry", "pdeathsig_command"]

logger = logging.getLogger(__name__)

_LAUNCH = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)  # the parent died before the signal was armed
os.execv(sys.argv[2], sys.argv[2:])
"""


def pdeathsig_command(command: list[str]) -> list[str]:
    """``command`` wrapped so that it is SIGKILLed when this process dies (Linux).

    A tiny exec wrapper instead of ``preexec_fn``, which is unsafe in a
    process with threads. Elsewhere ``command`` is returned as it is (the
    registry still cleans up after a crash).
    """
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-I", "-c", _LAUNCH, str(os.getpid()), *command]


@dataclass(frozen=True)
class Proc:
    """A process, identified by pid and start time (pids are reused)."""

    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> Proc | None:
        try:
            return cls(pid, round(psutil.Process(pid).create_time(), 2))
        except psutil.Error:
            return None

    def alive(self) -> bool:
        return Proc.of(self.pid) == self


def _kill_remnants(leader: Proc) -> int:
    """SIGKILL what is left of the process group that the dead ``leader`` led.

    While any process of a group lives, Linux gives nobody else the group's
    id as a pid, so a group named after a pid nobody has any more is what
    that process left. Processes older than it were never its own.
    """
    killed = 0
    for process in psutil.process_iter(["create_time"]):
        try:
            if os.getpgid(process.pid) != leader.pid:
                continue
            if round(process.info["create_time"], 2) < leader.started:
                continue
            os.kill(process.pid, signal.SIGKILL)
        except (OSError, psutil.Error):  # gone meanwhile, or not ours to signal
            continue
        killed += 1
    return killed


def _kill(proc: Proc) -> int:
    """SIGKILL ``proc`` (its whole process group when it leads one); how many were ours."""
    current = Proc.of(proc.pid)
    if current is None:  # gone; what it started may live on in its process group
        return _kill_remnants(proc)
    if current != proc:  # the pid was reused: not ours
        return 0
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return 0
    return 1


class ProcessRegistry:
    """Kernel processes per facio process, in ``<folder>/<pid>-<start>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        owner = Proc.of(os.getpid())
        assert owner is not None  # this process is alive
        self.owner = owner
        self.path = folder / f"{owner.pid}-{int(owner.started * 100)}.json"
        self._groups: dict[str, list[Proc]] = {}

    def track(self, name: str, pids: list[int]) -> None:
        """Record the processes of ``name`` (a kernel), replacing what was recorded."""
        procs = [p for p in (Proc.of(pid) for pid in pids) if p is not None]
        self._groups[name] = procs
        self._write()

    def forget(self, name: str) -> None:
        """``name``'s processes were stopped."""
        if self._groups.pop(name, None) is not None:
            self._write()

    def _write(self) -> None:
        if not self._groups:
            self.path.unlink(missing_ok=True)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "owner": [self.owner.pid, self.owner.started],
            "groups": {k: [[p.pid, p.started] for p in v] for k, v in self._groups.items()},
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self.path)

    def sweep(self) -> int:
        """Kill the processes left by dead facio processes; how many were killed."""
        killed = 0
        remove_orphans()
        if not self.folder.is_dir():
            return 0
        for path in self.folder.glob("*.json"):
            if path == self.path:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                owner = Proc(*data["owner"])
                procs = [Proc(*p) for group in data["groups"].values() for p in group]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("ignoring unreadable kernel registry %s: %s", path, exc)
                continue
            if owner.alive():
                continue  # another facio process on this workspace, still running
            for proc in procs:
                killed += _kill(proc)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if killed:
            logger.warning("stopped %d kernel process(es) left by a facio that died", killed)
        return killed
