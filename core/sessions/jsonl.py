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

from pydantic import ValidationError

from core.errors import CorruptSessionError, SessionStoreError
from core.messages import Message, message_from_json, message_to_json
from core.paths import adopt, key_of, legacy_session_name, session_name

SUFFIX = ".jsonl"
LEGACY_MAX_NAME = 240
"""Older versions refused keys longer than this once encoded."""
KEY_SUFFIX = ".key"
"""Next to the history of a long key: the key itself (its file name holds a digest)."""


def _name(session_key: str) -> str:
    if not session_key:
        raise SessionStoreError("a session key must not be empty")
    return session_name(session_key)


class JsonlSessionStore:
    """Keeps each session in ``<root>/<name>.jsonl``, ``<name>`` being
    :func:`core.paths.session_name` of its key.

    A long key's name ends in a digest of it, which cannot be read back: its
    key is kept in ``<name>.key`` for :meth:`keys`. A history an older version
    kept under another name (a key of 121 to 240 characters once encoded) is
    moved to the new one when the session is first used.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, session_key: str) -> Path:
        path = self.root / (_name(session_key) + SUFFIX)
        legacy = legacy_session_name(session_key)
        if legacy is not None and len(legacy) <= LEGACY_MAX_NAME:
            adopt(path, self.root / (legacy + SUFFIX))
        return path

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
        if key_of(_name(session_key)) is None:  # first the key, so no history lacks one
            self._replace(path.with_suffix(KEY_SUFFIX), [session_key], errors="surrogatepass")
        self._replace(path, [message_to_json(m) + "\n" for m in messages])

    def _replace(self, path: Path, parts: Sequence[str], errors: str = "strict") -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors=errors) as handle:
                handle.writelines(parts)
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
            path = self.path(session_key)
            path.unlink(missing_ok=True)
            path.with_suffix(KEY_SUFFIX).unlink(missing_ok=True)

    async def keys(self) -> list[str]:
        if not self.root.exists():
            return []
        found: list[str] = []
        for path in self.root.iterdir():
            if not path.name.endswith(SUFFIX) or path.name.startswith(".tmp-"):
                continue
            key = key_of(path.name[: -len(SUFFIX)])
            if key is None:
                try:
                    key = path.with_suffix(KEY_SUFFIX).read_text("utf-8", "surrogatepass")
                except FileNotFoundError:
                    continue  # not one of ours: every long key's history has its key
            found.append(key)
        return sorted(found)
