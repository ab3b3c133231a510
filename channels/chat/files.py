"""Files people send, saved under the workspace for the agent, on any platform.

A file lands at ``<workspace>/uploads/<platform>/<chat>/<message>-<name>``:
the name is reduced to safe characters (never a path), the download streams
into a ``.part`` file that is renamed only when complete, and a file above
the channel's limit — by its announced size, or by what actually arrives —
is refused before or while downloading, with nothing half-written left behind.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from channels.chat.errors import FileTooLarge

__all__ = ["UPLOADS", "save_stream", "upload_path"]

UPLOADS = Path("uploads")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_path(platform: str, chat: str, message: str, name: str, kind: str) -> Path:
    """Where a file goes, relative to the workspace (every part made safe)."""
    safe = _UNSAFE.sub("_", Path(name).name).strip("._")[:80] or kind
    folder = _UNSAFE.sub("_", chat).strip("._")[:80] or "chat"
    stem = _UNSAFE.sub("_", message).strip("._")[:40] or "message"
    return UPLOADS / platform / folder / f"{stem}-{safe}"


def check_size(size: int | None, limit: int) -> None:
    """Refuse an announced size above ``limit`` before anything is downloaded."""
    if size is not None and size > limit:
        raise FileTooLarge(size, limit)


async def save_stream(chunks: AsyncIterator[bytes], destination: Path, limit: int) -> None:
    """Write ``chunks`` to ``destination``, at most ``limit`` bytes, all or nothing."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    size = 0
    try:
        with partial.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(size, limit)
                out.write(chunk)
        partial.replace(destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
