"""Which tool calls may run without asking (deny by default).

A rule is a tool name or a shell-style pattern (``time_*``: every tool of the
MCP server ``time``). Rules come from three places: the bot's permission
defaults, "always" rules kept by the store (persisted), and "session" rules
for one session key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from core.permissions.store import FilePermissionStore, PermissionStore

PERMISSIONS_FILE = Path(".facio") / "permissions.json"


class PermissionManager:
    """Answers ``is_allowed`` from loaded rules; records new rules through its store.

    ``PermissionManager(workspace)`` keeps "always" rules in
    ``<workspace>/.facio/permissions.json``; pass ``store=`` for another backend.
    Call :meth:`load` before :meth:`is_allowed`.
    """

    def __init__(
        self,
        workspace: Path | str | None = None,
        *,
        store: PermissionStore | None = None,
        session_key: str = "default",
        defaults: Iterable[str] = (),
    ) -> None:
        if store is None:
            root = Path(workspace) if workspace is not None else Path.cwd()
            store = FilePermissionStore(root / PERMISSIONS_FILE)
        self.store = store
        self.session_key = session_key
        self.defaults = frozenset(defaults)
        self._always: set[str] = set()
        self._session: set[str] = set()

    async def load(self) -> None:
        """Read the rules from the store."""
        self._always = await self.store.load_always()
        self._session = await self.store.load_session(self.session_key)

    def is_allowed(self, tool_name: str, tool_args: Mapping[str, Any] | None = None) -> bool:
        """True when a rule allows this call to run without asking."""
        rules = self.defaults | self._always | self._session
        return any(fnmatchcase(tool_name, rule) for rule in rules)

    async def allow_always(self, tool_name: str) -> None:
        """Allow this tool from now on, for this bot, persisted."""
        await self.store.add_always(tool_name)
        self._always.add(tool_name)

    async def allow_session(self, tool_name: str) -> None:
        """Allow this tool for the rest of this session."""
        await self.store.add_session(self.session_key, tool_name)
        self._session.add(tool_name)

    @property
    def rules(self) -> dict[str, list[str]]:
        """The loaded rules by origin, for display."""
        return {
            "defaults": sorted(self.defaults),
            "always": sorted(self._always),
            "session": sorted(self._session),
        }
