"""What a sandbox holds, as bubblewrap arguments: the launch spec of one kernel.

Inside, the kernel (and whatever it starts) sees::

    /usr, /bin, /lib…, a few /etc files   the system, read-only
    <python prefixes>                     the Python environment, read-only
    /proc                                 its own processes only (a pid namespace)
    /dev, /tmp, /dev/shm                  minimal devices; private, size-limited tmpfs
    <workspace>/                          an empty, read-only folder, except:
      .facio/ptc/                         the generated MCP APIs, read-only
      sessions/<session>/                 its session's folder, read-write (bound later)
    <run folder>                          its connection file, sockets, tool-server socket
                                          (not facio's side of it: host/ is empty)
    /etc/passwd, /etc/group               two lines of its own

and nothing else: not facio's config, not the workspace's state, not another
session's folder, not the host's processes or environment. The network is
the host's (``network: on``) or a loopback of its own (``off``).

Bubblewrap runs unprivileged (in a user namespace). When facio runs as root,
the sandbox runs as :data:`SANDBOX_UID` instead: the OS exempts root from the
process limit, and a kernel should not own what root owns. That uid may not
be able to reach the Python installation (``/root/.pyenv`` is private), so the
launcher (:mod:`core.code.sandbox.launch`) first binds such folders into the
run folder, in a mount namespace of its own, and bubblewrap takes them from
there ("staged" sources below).

A warm kernel starts before anyone knows its session: the sandbox starts with
every session folder at :data:`HIDDEN_SESSIONS`, which only facio's binding
step uses (:mod:`core.code.sandbox.mount`); it binds the one folder in place
and unmounts the rest before the session's first cell runs.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config.models_code import CodeLimits
from core.paths import SESSIONS_DIR

__all__ = [
    "CONNECTION_FILE",
    "HIDDEN_SESSIONS",
    "KERNEL_NAME",
    "SANDBOX_UID",
    "SandboxPolicy",
    "python_folders",
]

SANDBOX_UID = 65533
"""The uid (and gid) sandboxes run as when facio runs as root; it owns nothing else."""
SANDBOX_USER = "facio"
HIDDEN_SESSIONS = "/.facio-sessions"
"""Where a warm sandbox holds every session folder until it is bound to one."""
KERNEL_NAME = "facio-sandbox"
"""The kernelspec name the gateway starts sandboxed kernels by."""
CONNECTION_FILE = "{connection_file}"
"""Replaced by the kernel's connection file (Jupyter's kernelspec placeholder)."""
STAGE = "@stage:"
"""``@stage:<i>`` in the spec's arguments stands for its ``sources[i]``."""

_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "crypto-policies",
    "fonts",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "pki",
    "protocols",
    "resolv.conf",
    "services",
    "ssl",
    "timezone",
)
"""What programs read in /etc: libraries, name resolution, certificates, time zone."""

# Runs inside the sandbox, before the kernel: the limits the OS then enforces. The
# process limit must be set inside: the sandbox's user namespace counts its own.
_LIMITS_STUB = """\
import json, os, resource, sys
for name, value in json.loads(sys.argv[1]).items():
    resource.setrlimit(getattr(resource, name), (value, value))
os.execv(sys.argv[2], sys.argv[2:])
"""


def python_folders() -> tuple[Path, ...]:
    """The folders of this Python installation (venv and base), outermost only."""
    found: set[Path] = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        found |= {Path(prefix).absolute(), Path(prefix).resolve()}
    system = [Path(p) for p in _SYSTEM]
    kept = [p for p in found if not any(p.is_relative_to(s) for s in system)]
    return tuple(sorted(p for p in kept if not any(p != q and p.is_relative_to(q) for q in kept)))


def _depth(path: str) -> int:
    return len(Path(path).parts)


@dataclass(frozen=True)
class SandboxPolicy:
    """How every sandbox of one code toolset is built."""

    workspace: Path
    ptc_root: Path
    network: bool
    limits: CodeLimits
    bwrap: str
    """The bubblewrap executable."""
    uid: int
    gid: int
    python: tuple[Path, ...] = ()
    """Folders of the Python installation, bound read-only."""

    @classmethod
    def build(
        cls, *, workspace: Path, ptc_root: Path, network: bool, limits: CodeLimits, bwrap: str
    ) -> SandboxPolicy:
        root = os.geteuid() == 0
        return cls(
            workspace=workspace,
            ptc_root=ptc_root,
            network=network,
            limits=limits,
            bwrap=bwrap,
            uid=SANDBOX_UID if root else os.getuid(),
            gid=SANDBOX_UID if root else os.getgid(),
            python=python_folders(),
        )

    @property
    def sessions(self) -> Path:
        return self.workspace / SESSIONS_DIR

    def rlimits(self) -> dict[str, int]:
        """The limits set before the kernel starts (CPU time is set at binding)."""
        return {
            "RLIMIT_DATA": self.limits.memory_mb << 20,
            "RLIMIT_NPROC": self.limits.processes,
            "RLIMIT_FSIZE": self.limits.file_size_mb << 20,
            "RLIMIT_CORE": 0,
        }

    def passwd(self) -> str:
        return (
            "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{SANDBOX_USER}:x:{self.uid}:{self.gid}:facio sandbox:/tmp:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )

    def group(self) -> str:
        return f"root:x:0:\n{SANDBOX_USER}:x:{self.gid}:\nnogroup:x:65534:\n"

    def launch_spec(self, run: Path, command: list[str], *, kernel: bool = True) -> dict[str, Any]:
        """What :mod:`~core.code.sandbox.launch` runs: bubblewrap around ``command``.

        ``run`` is the kernel's run folder; ``kernel=False`` leaves out what only a
        kernel needs (the workspace, the session folders), for the probe.
        """
        sources: list[str] = []

        def staged(path: Path) -> str:
            sources.append(str(path))
            return f"{STAGE}{len(sources) - 1}"

        args = [
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "facio",
        ]
        if self.network:
            args.append("--share-net")
        for path in _SYSTEM:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        size = str(self.limits.memory_mb << 20)
        tree: list[list[str]] = [
            ["--size", size, "--tmpfs", "/tmp"],
            ["--size", size, "--tmpfs", "/dev/shm"],
            ["--bind", str(run), str(run)],
            ["--ro-bind", str(run / "empty"), str(run / "host")],  # facio's side of the link
            ["--ro-bind", str(run / "passwd"), "/etc/passwd"],
            ["--ro-bind", str(run / "group"), "/etc/group"],
        ]
        tree += [["--ro-bind", staged(folder), str(folder)] for folder in self.python]
        if kernel:
            tree += [
                ["--tmpfs", str(self.workspace)],
                ["--ro-bind", staged(self.ptc_root), str(self.ptc_root)],
                ["--ro-bind", str(run / "sessions"), str(self.sessions)],
                ["--bind", staged(self.sessions), HIDDEN_SESSIONS],
            ]
        for mount in sorted(tree, key=lambda m: _depth(m[-1])):  # parents before children
            args += mount
        if kernel:
            args += ["--remount-ro", str(self.workspace)]
        chdir = str(self.workspace) if kernel else "/tmp"
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", chdir]
        limits = json.dumps(self.rlimits())
        stub = [sys.executable, "-I", "-S", "-c", _LIMITS_STUB, limits]
        return {
            "bwrap": self.bwrap,
            "uid": self.uid,
            "gid": self.gid,
            "run": str(run),
            "status": str(run / "status.json"),
            "sources": sources,
            "args": [*args, "--", *stub, *command],
            "env": {"HOME": "/tmp", "USER": SANDBOX_USER, "LOGNAME": SANDBOX_USER},
        }

    def kernel_command(self) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE]
