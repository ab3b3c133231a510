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

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = ["CodePaths", "safe_name"]


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
