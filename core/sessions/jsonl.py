"""Session histories as JSONL files in the workspace, written atomically.

One file per session, one message per line. Every write produces a complete
new file (temporary file, fsync, rename), so a crash leaves the old or the new
history, never half of one. Reading is strict: a line that does not parse —
including a last line cut short — raises :class:`CorruptSessionError` naming
the file and line, and the file is left untouched for a person to inspect.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote

from pydantic import ValidationError

from core.errors import CorruptSessionError, SessionStoreError
from core.messages import Message, message_from_json, message_to_json

SUFFIX = ".jsonl"
MAX_NAME = 240
"""Longest encoded key: file systems allow 255 bytes per name, with the suffix."""


def _filename(session_key: str) -> str:
    if not session_key:
        raise SessionStoreError("a session key must not be empty")
    name = quote(session_key, safe="")
    # A leading "." is encoded too: no session file is hidden, and none can be
    # mistaken for (and skipped as) one of the ".tmp-" files of a write.
    if name.startswith("."):
        name = "%2E" + name[1:]
    if len(name) > MAX_NAME:
        raise SessionStoreError(
            f"session key too long for a file name ({len(name)} characters once encoded, "
            f"at most {MAX_NAME}): {session_key[:40]!r}…"
        )
    return name + SUFFIX


class JsonlSessionStore:
    """Keeps each session in ``<root>/<percent-encoded key>.jsonl``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, session_key: str) -> Path:
        return self.root / _filename(session_key)

    def _lock(self, session_key: str) -> asyncio.Lock:
        return self._locks.setdefault(session_key, asyncio.Lock())

    def _read(self, session_key: str) -> list[Message]:
        path = self.path(session_key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SessionStoreError(f"cannot read {path}: {exc}") from exc
        messages: list[Message] = []
        lines = data.splitlines()
        last = len(lines)
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                messages.append(message_from_json(raw))
            except ValidationError as exc:
                if number == last and not data.endswith(b"\n"):
                    raise CorruptSessionError(
                        f"{path}: line {number} is truncated; the history was not loaded so "
                        "that nothing is lost — repair or remove the last line"
                    ) from exc
                raise CorruptSessionError(
                    f"{path}: line {number} is not a valid message ({exc.errors()[0]['msg']}); "
                    "the history was not loaded so that nothing is lost"
                ) from exc
        return messages

    def _write(self, session_key: str, messages: Sequence[Message]) -> None:
        path = self.path(session_key)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for message in messages:
                    handle.write(message_to_json(message))
                    handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def load(self, session_key: str) -> list[Message]:
        async with self._lock(session_key):
            return self._read(session_key)

    async def append(self, session_key: str, messages: Sequence[Message]) -> None:
        if not messages:
            return
        async with self._lock(session_key):
            self._write(session_key, [*self._read(session_key), *messages])

    async def replace(self, session_key: str, messages: Sequence[Message]) -> None:
        async with self._lock(session_key):
            self._write(session_key, messages)

    async def delete(self, session_key: str) -> None:
        async with self._lock(session_key):
            self.path(session_key).unlink(missing_ok=True)

    async def keys(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            unquote(p.name[: -len(SUFFIX)])
            for p in self.root.iterdir()
            if p.name.endswith(SUFFIX) and not p.name.startswith(".tmp-")
        )
