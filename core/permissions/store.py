"""Where permission rules are kept: the storage seam of the PermissionManager.

The SDK keeps "always" rules in ``<workspace>/.facio/permissions.json`` and
"session" rules in memory; the distributed runtime keeps both in Redis by
implementing the same protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Protocol

from core.errors import ConfigError


class PermissionStore(Protocol):
    async def load_always(self) -> set[str]: ...

    async def add_always(self, tool_name: str) -> None: ...

    async def load_session(self, session_key: str) -> set[str]: ...

    async def add_session(self, session_key: str, tool_name: str) -> None: ...

    async def clear_session(self, session_key: str) -> None:
        """Forget the session's rules (the session was reset)."""
        ...


class MemoryPermissionStore:
    """Rules in memory only (tests, one-off runs)."""

    def __init__(self, always: set[str] | None = None) -> None:
        self.always: set[str] = set(always or ())
        self.sessions: dict[str, set[str]] = {}

    async def load_always(self) -> set[str]:
        return set(self.always)

    async def add_always(self, tool_name: str) -> None:
        self.always.add(tool_name)

    async def load_session(self, session_key: str) -> set[str]:
        return set(self.sessions.get(session_key, ()))

    async def add_session(self, session_key: str, tool_name: str) -> None:
        self.sessions.setdefault(session_key, set()).add(tool_name)

    async def clear_session(self, session_key: str) -> None:
        self.sessions.pop(session_key, None)


class FilePermissionStore(MemoryPermissionStore):
    """ "Always" rules persisted as JSON under the workspace; session rules in memory."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lock = asyncio.Lock()

    def _read(self) -> set[str]:
        if not self.path.exists():
            return set()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"cannot read permission rules: {exc}", source=str(self.path)
            ) from exc
        allow = data.get("allow") if isinstance(data, dict) else None
        if not isinstance(allow, list) or not all(isinstance(x, str) for x in allow):
            raise ConfigError('expected {"allow": ["tool_name", ...]}', source=str(self.path))
        return set(allow)

    def _write(self, names: set[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".permissions.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"allow": sorted(names)}, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def load_always(self) -> set[str]:
        async with self._lock:
            self.always = self._read()
            return set(self.always)

    async def add_always(self, tool_name: str) -> None:
        async with self._lock:
            names = self._read() | {tool_name}
            self._write(names)
            self.always = names
