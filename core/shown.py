"""Paths as the model and people see them: relative to the workspace, never the server's.

What a tool says reaches the model and, through the chat or the API, people.
An absolute path (``/srv/facio/workspace/notes/…``, ``/home/ops/…``) tells
them how the server is laid out and helps nobody: the tools and the code
work in the workspace, so a path is shown relative to it (``notes/x.md``),
and a path outside it as its last part only (``…/bwrap``). The server's log
keeps the whole story.

The tool boundary (``core.agent.execute``) passes every tool error through
:func:`error_text` or :func:`scrub`; code that words an error itself from an
``OSError`` uses :func:`error_text` too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

__all__ = ["error_text", "scrub", "shown_path"]

OUTSIDE = "…/"
"""Stands for the folders of a path outside the workspace."""


def _roots(workspace: Path) -> list[str]:
    """The workspace as it may be written: as given and with links resolved."""
    found = {str(workspace.absolute()), str(workspace.resolve())}
    return sorted((r for r in found if len(r) > 1), key=len, reverse=True)


def shown_path(path: object, workspace: Path) -> str:
    """``path`` relative to ``workspace``; outside it, only its name after ``…/``."""
    if not isinstance(path, str | bytes | os.PathLike):
        return str(path)  # a file descriptor, as some OSErrors name the file
    raw = Path(os.fsdecode(path))
    if not raw.is_absolute():
        return raw.as_posix()
    for root in _roots(workspace):
        try:
            relative = raw.relative_to(root)
        except ValueError:
            continue
        return relative.as_posix() if relative.parts else "."
    return f"{OUTSIDE}{PurePath(raw).name}" if raw.name else OUTSIDE.rstrip("/")


def scrub(text: str, workspace: Path, *, cwd: Path | None = None) -> str:
    """``text`` with the workspace's absolute path taken out of every path in it.

    With ``cwd`` (a folder in the workspace: a session's, where code runs),
    paths in it are shown relative to it first (``data.csv``, ``.``), as the
    code that runs there opens them.
    """
    for folder in (cwd, workspace):
        if folder is None:
            continue
        for root in _roots(folder):
            text = _strip(text, root)
    return text


def _strip(text: str, root: str) -> str:
    # the root as a whole path or a path's first folders: not "/ws" in "/wsx" or "a/ws"
    pattern = re.compile(r"(?<![\w./-])" + re.escape(root) + r"(/|(?![\w.-])|(?=\.(?![\w.-])))")
    return pattern.sub(lambda m: "" if m.group(1) == "/" else ".", text)


def error_text(exc: BaseException, workspace: Path) -> str:
    """What ``exc`` says, with paths as :func:`shown_path` shows them: an ``OSError``
    about a file is ``<reason>: <path>`` (``No such file or directory: notes/x.md``)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        text = f"{reason}: {shown_path(exc.filename, workspace)}"
        if exc.filename2 is not None:
            text += f" -> {shown_path(exc.filename2, workspace)}"
        return text
    return scrub(str(exc), workspace)
