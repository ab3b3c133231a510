"""Start one sandbox: run by the kernel gateway as the kernel's command, outside the sandbox.

    python -I -S launch.py <launch spec.json> [<connection file>]

The spec is written by facio (:meth:`SandboxPolicy.launch_spec`). This runs
as facio's OS user, with the standard library only, and ends by turning into
bubblewrap (``execve``), so it leaves no process behind. As root it first:

1. gives the connection file (written by the gateway, mode 0600) to the
   sandbox's uid, which must read it;
2. binds each staged source (the Python installation, the workspace's
   folders) under the run folder, in a mount namespace of its own: the
   sandbox's uid may not be able to reach them where they are, and nothing
   of this is seen outside this process and the sandbox;
3. drops to the sandbox's uid and gid.

It opens the status file for bubblewrap (``--json-status-fd``), on which
bubblewrap writes the sandbox's pid and, at the end, the kernel's exit code.
Nothing may be imported after step 3: the Python installation may be out of
reach by then.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
STAGE = "@stage:"
CONNECTION_FILE = "{connection_file}"
DROPPED_ENV = ("JPY_PARENT_PID", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "KG_AUTH_TOKEN")
"""The gateway's, not the kernel's: inside, the kernel's parent is the sandbox's init."""

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _stage(sources: list[str], folder: str) -> list[str]:
    """Bind each source under ``folder`` in a private mount namespace; the new paths."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    staged = []
    for number, source in enumerate(sources):
        target = os.path.join(folder, str(number))
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(folder, exist_ok=True)
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
        _check(
            _libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None),
            f"bind {source}",
        )
        staged.append(target)
    return staged


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    for key, value in spec["env"].items():
        env.setdefault(key, value)
    return env


def main(argv: list[str]) -> None:
    with open(argv[0], encoding="utf-8") as handle:
        spec = json.load(handle)
    connection = argv[1] if len(argv) > 1 else ""
    sources: list[str] = spec["sources"]
    status = os.open(spec["status"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.set_inheritable(status, True)
    uid, gid = spec["uid"], spec["gid"]
    if os.geteuid() == 0 and uid != 0:
        if connection:
            os.chown(connection, uid, gid)
        sources = _stage(sources, os.path.join(spec["run"], "stage"))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    args = []
    for arg in spec["args"]:
        if arg.startswith(STAGE):
            arg = sources[int(arg[len(STAGE) :])]
        args.append(arg.replace(CONNECTION_FILE, connection))
    bwrap = spec["bwrap"]
    os.execve(bwrap, [bwrap, "--json-status-fd", str(status), *args], _environment(spec))


if __name__ == "__main__":
    main(sys.argv[1:])
