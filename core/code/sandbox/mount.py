"""Bind a warm sandbox to its session: run by facio, once, before the session's first cell.

    python -I -S mount.py <pid> <hidden> <session name> <session folder> <run folder>

``pid`` is a process of the sandbox; ``hidden`` is where it holds every
session folder (``policy.HIDDEN_SESSIONS``). In its mount namespace this:

1. binds ``<hidden>/<session name>`` (the session's real folder) onto
   ``<session folder>``, an empty folder facio made in the run folder's
   ``sessions/``, which the sandbox sees at ``<workspace>/sessions/``;
2. unmounts ``<hidden>``: the other sessions' folders are gone;
3. makes the run folder read-only (its sockets still connect).

Entering a mount namespace takes a single-threaded process, hence a process
of its own. As root it enters the namespace directly; as another user it
first enters the user namespace that owns it (the user created it). Standard
library only.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
NS_GET_USERNS = 0xB701
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def main(argv: list[str]) -> None:
    pid, hidden, name, folder, run = int(argv[0]), argv[1], argv[2], argv[3], argv[4]
    namespace = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    if os.geteuid() != 0:
        owner = fcntl.ioctl(namespace, NS_GET_USERNS)
        _check(_libc.setns(owner, CLONE_NEWUSER), "enter the sandbox's user namespace")
    _check(_libc.setns(namespace, CLONE_NEWNS), "enter the sandbox's mount namespace")
    source = os.path.join(hidden, name)
    _check(
        _libc.mount(source.encode(), folder.encode(), None, MS_BIND | MS_REC, None),
        "bind the session folder",
    )
    _check(_libc.umount2(hidden.encode(), MNT_DETACH), "unmount the other sessions")
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    _check(_libc.mount(None, run.encode(), None, flags, None), "make the run folder read-only")


if __name__ == "__main__":
    main(sys.argv[1:])
