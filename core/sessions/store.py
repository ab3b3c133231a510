"""The SessionStore seam: where a session's history lives.

The history is the agent's checkpoint (see core.messages), so stores must
never silently drop or reorder messages. The SDK uses :class:`JsonlSessionStore`;
the distributed runtime keeps histories in Redis behind the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.messages import Message


class SessionStore(Protocol):
    async def load(self, session_key: str) -> list[Message]:
        """The whole history, oldest first; [] for an unknown session."""
        ...

    async def append(self, session_key: str, messages: Sequence[Message]) -> None:
        """Add messages at the end, durably, all or nothing."""
        ...

    async def replace(self, session_key: str, messages: Sequence[Message]) -> None:
        """Set the whole history."""
        ...

    async def delete(self, session_key: str) -> None:
        """Forget the session (a reset)."""
        ...

    async def keys(self) -> list[str]:
        """Every session key with a stored history."""
        ...


class MemorySessionStore:
    """Histories in a dict: for tests and throwaway agents."""

    def __init__(self) -> None:
        self._data: dict[str, list[Message]] = {}

    async def load(self, session_key: str) -> list[Message]:
        return list(self._data.get(session_key, ()))

    async def append(self, session_key: str, messages: Sequence[Message]) -> None:
        self._data.setdefault(session_key, []).extend(messages)

    async def replace(self, session_key: str, messages: Sequence[Message]) -> None:
        self._data[session_key] = list(messages)

    async def delete(self, session_key: str) -> None:
        self._data.pop(session_key, None)

    async def keys(self) -> list[str]:
        return sorted(self._data)
