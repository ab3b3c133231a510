"""Notes kept in the session's workspace: a small real tool with a side effect.

The demo and assistant presets use it; writing a note asks for approval
unless a permission rule allows ``save_note``.

A session's notes are ``<workspace>/notes/<name>.md``, ``<name>`` being
:func:`core.paths.session_name` of its key (``telegram:42`` →
``notes/telegram%3A42.md``): one file per session, whatever the key.

Older versions named the file by the key with every character but
``A-Z a-z 0-9 _ . -`` made ``_`` (``telegram_42.md``), which sessions such
as ``api:a:b`` and ``api:a_b`` shared. Such a file is moved to the new name
of the first session that uses its notes — if it was last written before
this version first used the folder (the time of :data:`LAYOUT_MARK`): a
file written since belongs to the session whose name it is now (``me.md``
is the key ``me``'s under both), and is left to it. Before this version,
sessions that shared a file shared their notes; the first one to ask takes
them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.paths import adopt, session_name
from core.tools.tool import Tool, ToolContext

__all__ = ["LAYOUT_MARK", "LIST_NOTES", "MAX_NOTE", "NOTES_DIR", "SAVE_NOTE", "notes_file"]

MAX_NOTE = 4000
NOTES_DIR = "notes"
LAYOUT_MARK = ".session-names"
"""Made in ``notes/`` the first time this version uses it: files older than it
were named the old way."""
_MARK_TEXT = "Notes here are named by core.paths.session_name (facio).\n"
_OLD_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_FILE_NAME = 255
"""Longer names never were files: older versions failed on such keys."""


def notes_file(workspace: Path, session_key: str) -> Path:
    """Where the notes of ``session_key`` are (whether or not any exist)."""
    return workspace / NOTES_DIR / f"{session_name(session_key)}.md"


def _prepared(context: ToolContext) -> Path:
    """The session's notes file, after taking over its file of an older version."""
    path = notes_file(context.workspace, context.session_key)
    folder = path.parent
    if not folder.is_dir():
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            _mark(folder)
        return path
    mark = _mark(folder)
    old_name = f"{_OLD_UNSAFE.sub('_', context.session_key)}.md"  # ASCII: characters are bytes
    legacy = folder / old_name
    if len(old_name) <= _MAX_FILE_NAME and legacy != path and not path.exists():
        try:
            written = legacy.stat().st_mtime_ns
        except FileNotFoundError:
            return path
        if written < mark:
            adopt(path, legacy)
    return path


def _mark(folder: Path) -> int:
    """The time this version first used ``folder`` (now, if this is the first time)."""
    mark = folder / LAYOUT_MARK
    try:
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_MARK_TEXT)
    return mark.stat().st_mtime_ns


def save_note(text: str, context: ToolContext) -> str:
    """Save a short note for the person, kept across conversations.

    Args:
        text: The note, in plain words.
    """
    text = text.strip()
    if not text:
        return "Nothing saved: the note is empty."
    if len(text) > MAX_NOTE:
        return f"Nothing saved: a note holds at most {MAX_NOTE} characters."
    path = _prepared(context)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"- {' '.join(text.splitlines())}\n")
        handle.flush()
        os.fsync(handle.fileno())
    return f"Saved note: {text}"


def list_notes(context: ToolContext) -> str:
    """List the notes saved so far."""
    path = notes_file(context.workspace, context.session_key)
    if not path.parent.exists():
        return "No notes yet."
    path = _prepared(context)
    if not path.exists():
        return "No notes yet."
    return path.read_text(encoding="utf-8").strip() or "No notes yet."


SAVE_NOTE = Tool(save_note)
LIST_NOTES = Tool(list_notes)
