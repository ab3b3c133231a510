"""Files people send, saved in their conversation's folder for the agent, on any platform.

A file lands at ``<workspace>/sessions/<session>/uploads/<message>-<name>``:
``<session>`` is the session's folder name (:func:`core.paths.session_name`,
collision-free and short for any key), the folder code actions run in — so
code, in its sandbox too, opens the file as ``uploads/<message>-<name>``,
which is how the agent is told of it (:func:`conversation_path`). The
name is reduced to safe characters (never a path); the download streams
into a ``.part`` file that is renamed only when complete; a file above the
channel's limit — by its announced size, or by what actually arrives — is
refused before or while downloading, with nothing half-written left behind.

The session's folder is the code's to shape: where it made ``uploads`` a
symbolic link, nothing is followed (:func:`core.paths.open_below`) and the
file is not saved (:class:`FileNotSaved`), rather than written elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from channels.chat.errors import FileNotSaved, FileTooLarge
from core.paths import SESSIONS_DIR, open_below, session_folder, session_name
from core.shown import error_text

__all__ = [
    "UPLOADS",
    "check_size",
    "conversation_path",
    "save_upload",
    "upload_name",
    "upload_path",
]

UPLOADS = "uploads"
"""The folder of uploads in a session's folder."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PART = ".part"
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW


def upload_name(message: str, name: str, kind: str) -> str:
    """The file's name in ``uploads/``: the message's id, then its own name made safe."""
    safe = _UNSAFE.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip("._")[:80] or kind
    stem = _UNSAFE.sub("_", message).strip("._")[:40] or "message"
    return f"{stem}-{safe}"


def upload_path(session_key: str, filename: str) -> PurePosixPath:
    """Where the upload ``filename`` of ``session_key`` is, relative to the workspace."""
    return PurePosixPath(SESSIONS_DIR, session_name(session_key), UPLOADS, filename)


def conversation_path(session_key: str, path: str) -> str:
    """An upload's ``path`` (relative to the workspace) relative to its session's folder:
    how the agent is told of it. A path elsewhere stays as it is."""
    folder = PurePosixPath(SESSIONS_DIR, session_name(session_key))
    try:
        return PurePosixPath(path).relative_to(folder).as_posix()
    except ValueError:
        return path


def check_size(size: int | None, limit: int) -> None:
    """Refuse an announced size above ``limit`` before anything is downloaded."""
    if size is not None and size > limit:
        raise FileTooLarge(size, limit)


async def save_upload(
    chunks: AsyncIterator[bytes],
    workspace: Path,
    session_key: str,
    filename: str,
    limit: int,
) -> PurePosixPath:
    """Write ``chunks`` to the session's ``uploads/filename``, at most ``limit`` bytes,
    all or nothing; its path relative to the workspace.

    Raises :class:`FileTooLarge` above ``limit``, :class:`FileNotSaved` when the
    file system refuses (the message names no absolute path).
    """
    try:
        folder = await asyncio.to_thread(session_folder, workspace, session_key)
        directory = open_below(folder, UPLOADS)
    except OSError as exc:
        raise FileNotSaved(error_text(exc, workspace)) from exc
    try:
        await _write(chunks, directory, filename, limit)
    except OSError as exc:
        raise FileNotSaved(f"{exc.strerror or type(exc).__name__}: {UPLOADS}/{filename}") from exc
    finally:
        os.close(directory)
    return upload_path(session_key, filename)


async def _write(chunks: AsyncIterator[bytes], directory: int, filename: str, limit: int) -> None:
    partial = filename + _PART
    size = 0
    try:
        fd = os.open(partial, _NEW_FILE, 0o644, dir_fd=directory)
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise FileTooLarge(size, limit)
                out.write(chunk)
        os.rename(partial, filename, src_dir_fd=directory, dst_dir_fd=directory)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=directory)
