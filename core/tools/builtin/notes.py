"""Notes kept in the session's workspace: a small real tool with a side effect.

The demo and assistant presets use it; writing a note asks for approval
unless a permission rule allows ``save_note``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.tools.tool import Tool, ToolContext

MAX_NOTE = 4000


def _notes_file(context: ToolContext) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", context.session_key)
    return context.workspace / "notes" / f"{safe}.md"


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
    path = _notes_file(context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"- {' '.join(text.splitlines())}\n")
        handle.flush()
        os.fsync(handle.fileno())
    return f"Saved note: {text}"


def list_notes(context: ToolContext) -> str:
    """List the notes saved so far."""
    path = _notes_file(context)
    if not path.exists():
        return "No notes yet."
    return path.read_text(encoding="utf-8").strip() or "No notes yet."


SAVE_NOTE = Tool(save_note)
LIST_NOTES = Tool(list_notes)
