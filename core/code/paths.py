"""Where code actions keep their files in the workspace.

    <workspace>/sessions/<session>/          a session's working directory (the kernel's cwd)
    <workspace>/sessions/<session>/images/   images the code produced
    <workspace>/sessions/<session>/uploads/  files people sent in the chat (channels.chat.files)
    <workspace>/.facio/ptc/mcptools/<server>/ generated Python APIs of ptcServers (on PYTHONPATH)
    <workspace>/.facio/code/procs/           kernel processes per facio process (cleaned at start)
    <workspace>/.facio/code/kernels/         which kernel a session had last ("new kernel" notes)

``<session>`` is :func:`core.paths.session_name` of the session key
(``telegram:42`` → ``telegram%3A42``): readable, one folder per key, never a
path outside, at most 120 characters however long the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.paths import SESSIONS_DIR, open_below, session_folder, session_name

__all__ = ["CodePaths", "write_new"]


@dataclass(frozen=True)
class CodePaths:
    """The code-action folders of one workspace."""

    workspace: Path

    def session_dir(self, session_key: str) -> Path:
        """The session's working directory: its files, shared by its kernels."""
        return self.workspace / SESSIONS_DIR / session_name(session_key)

    def open_session(self, session_key: str) -> Path:
        """:meth:`session_dir`, made (or adopted from an older version's name) if missing."""
        return session_folder(self.workspace, session_key)

    def images_dir(self, session_key: str) -> Path:
        return self.session_dir(session_key) / "images"

    @property
    def ptc_root(self) -> Path:
        """Put on the kernel's PYTHONPATH: ``import mcptools.<server>`` finds the APIs here."""
        return self.workspace / ".facio" / "ptc"

    @property
    def procs_dir(self) -> Path:
        return self.workspace / ".facio" / "code" / "procs"

    @property
    def kernels_dir(self) -> Path:
        return self.workspace / ".facio" / "code" / "kernels"


def write_new(folder: Path, name: str, data: bytes) -> Path:
    """Create the file ``folder/name`` with ``data``; ``folder`` too if it is missing.

    ``folder`` is in a session's folder (its ``images/``), which the code owns
    and shapes: no link is followed below the session's folder
    (:func:`core.paths.open_below`), the write fails instead (``OSError``),
    and nothing is replaced (the name is new).
    """
    directory = open_below(folder.parent, folder.name)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(name, flags, 0o644, dir_fd=directory), "wb") as handle:
            handle.write(data)
    finally:
        os.close(directory)
    return folder / name
