"""Where code actions keep their files in the workspace.

    <workspace>/sessions/<session>/          a session's working directory (the kernel's cwd)
    <workspace>/sessions/<session>/images/   images the code produced
    <workspace>/.facio/ptc/mcptools/<server>/ generated Python APIs of ptcServers (on PYTHONPATH)
    <workspace>/.facio/code/procs/           kernel processes per facio process (cleaned at start)
    <workspace>/.facio/code/kernels/         which kernel a session had last ("new kernel" notes)

``<session>`` is the session key percent-encoded (``telegram:42`` →
``telegram%3A42``): readable, one folder per key, never a path outside.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = ["CodePaths", "safe_name", "write_new"]

_NO_LINK_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def safe_name(key: str) -> str:
    """``key`` as one file name: percent-encoded, never ``.``/``..`` or empty."""
    name = quote(key, safe="")
    if not name or name.startswith("."):
        name = "%2E" + name[1:] if name else "%00"
    return name


@dataclass(frozen=True)
class CodePaths:
    """The code-action folders of one workspace."""

    workspace: Path

    def session_dir(self, session_key: str) -> Path:
        """The session's working directory: its files, shared by its kernels."""
        return self.workspace / "sessions" / safe_name(session_key)

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
    and shapes: where it put a symbolic link (``images`` → ``/etc``), facio —
    root, perhaps — would write outside the session. So no link is followed
    below the session's folder, which only facio creates: the write fails
    instead (``OSError``), and nothing is replaced (the name is new).
    """
    parent = os.open(folder.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder.name, 0o755, dir_fd=parent)
        directory = os.open(folder.name, _NO_LINK_DIR, dir_fd=parent)
    finally:
        os.close(parent)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(name, flags, 0o644, dir_fd=directory), "wb") as handle:
            handle.write(data)
    finally:
        os.close(directory)
    return folder / name
