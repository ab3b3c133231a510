"""Which kernel a session had last, so that a model is told when its state is gone.

The model reasons from the history: variables it defined earlier should
still exist. They do not when the session's next code action runs in a new
kernel: after an idle stop, a restart of facio, or a turn that landed on
another worker process. Each (session, agent) records the id of the kernel
that last ran its code, in a small file under the workspace; a different id
next time means "new kernel", and the tool result says so. An explicit
reset or a new conversation clears the record: there is nothing to warn of.

Workers on machines that do not share the workspace cannot see each other's
records; the note is then missing after a move between machines.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from core.paths import session_name

__all__ = ["KernelMarks"]


class KernelMarks:
    """``<folder>/<session>@<agent>`` holds the id of the key's last kernel.

    Both parts are :func:`core.paths.session_name`s, which never hold ``@``.
    Records of older versions' names for long keys are not carried over: the
    worst that costs is one missing "another kernel" note.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, session_key: str, agent_id: str) -> Path:
        return self.folder / f"{session_name(session_key)}@{session_name(agent_id)}"

    def switch(self, session_key: str, agent_id: str, kernel_id: str) -> bool:
        """Record ``kernel_id``; True when another kernel had run this key's code before."""
        path = self._path(session_key, agent_id)
        try:
            previous = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            previous = None
        if previous == kernel_id:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(kernel_id, encoding="utf-8")
        tmp.replace(path)
        return previous is not None

    def clear(self, session_key: str, agent_id: str | None = None) -> None:
        """Forget the key's kernel (every agent's, when ``agent_id`` is None)."""
        if agent_id is not None:
            paths = [self._path(session_key, agent_id)]
        else:
            paths = list(self.folder.glob(f"{session_name(session_key)}@*"))
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
