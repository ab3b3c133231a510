"""``mcpServers``: the tools of MCP servers, offered to the model as ``<server>_<tool>``.

:class:`McpToolset` is a :class:`~core.tools.toolset.Toolset`. Building one
only reads the config; the first ``tools()`` call (an agent's start) starts
or reaches every server at once, lists their tools and wraps each in a
:class:`~core.tools.schema_tool.SchemaTool`. One toolset lives as long as its
owner (a ``Facio``: per bot and process), and its connections are shared by
every session of that owner. A subagent that needs fresh connections builds a
new toolset from the same config (:meth:`McpToolset.fresh`).

Failures stay with their server:
- a server that fails to start is logged (name and reason) and left out; the
  others are offered. ``tools()`` tries it again after ``retry_after`` seconds;
- a call to a server that stopped returns the tool error "MCP server X is not
  running: …", and the next call starts it again (once per call);
- a call that takes longer than the server's ``timeout`` is a tool error; the
  connection stays usable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp import types

from core.config.models_servers import McpServerConfig
from core.errors import McpServerDown, McpServerError, ToolError
from core.mcp.connection import McpConnection
from core.mcp.names import exposed_name
from core.mcp.results import MEDIA_DIR, result_text
from core.mcp.transport import address
from core.tools.schema_tool import SchemaTool
from core.tools.tool import Tool, ToolContext

if TYPE_CHECKING:
    from core.config.models import FacioConfig

__all__ = ["CONNECT_TIMEOUT", "RETRY_AFTER", "McpToolset", "ServerStatus"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0
"""Seconds a server may take to start (or answer) and list its tools."""

RETRY_AFTER = 60.0
"""Seconds before ``tools()`` tries again a server that failed to start."""

State = Literal["connected", "failed", "not started", "closed"]


@dataclass(frozen=True)
class ServerStatus:
    """How one server is doing, for ``facio doctor`` and logs."""

    name: str
    transport: str
    """``stdio`` or ``http``."""
    where: str
    """Its command line or URL (no secrets)."""
    state: State
    tools: tuple[str, ...] = ()
    """The names its tools are offered under."""
    error: str = ""
    notes: tuple[str, ...] = ()
    """Config problems that did not stop it (unknown names in enabledTools, …)."""


class _Server:
    """One configured server: its connection, its tools, why it failed."""

    def __init__(self, name: str, config: McpServerConfig, owner: McpToolset) -> None:
        self.name = name
        self.config = config
        self.owner = owner
        self.connection: McpConnection | None = None
        self.listed: list[types.Tool] | None = None
        """What the server listed on its first successful start (None before)."""
        self.tools: list[SchemaTool] = []
        self.notes: list[str] = []
        self.error = ""
        self.failed_at: float | None = None
        self.lock = asyncio.Lock()

    def _connect(self) -> McpConnection:
        return McpConnection(
            self.name,
            self.config,
            cwd=self.owner.workspace,
            connect_timeout=self.owner.connect_timeout,
        )

    def due(self, now: float) -> bool:
        """Whether ``tools()`` should (re)try to start it."""
        if self.listed is not None:
            return False
        return self.failed_at is None or now - self.failed_at >= self.owner.retry_after

    async def start(self) -> None:
        """Connect and list; on failure log why and remember it (never raises McpServerDown)."""
        async with self.lock:
            connection = self._connect()
            try:
                listed = await connection.open()
            except McpServerDown as exc:
                self.error, self.failed_at = str(exc), asyncio.get_running_loop().time()
                logger.error(
                    "MCP server %s (%s) failed to start: %s; its tools are not offered",
                    self.name,
                    connection.where,
                    exc,
                )
                return
            if self.owner.closed:  # closed while starting
                await connection.aclose()
                return
            self.connection, self.listed, self.error = connection, listed, ""

    async def _live(self) -> McpConnection:
        """The connection, reconnecting once when it is gone; ToolError when that fails."""
        async with self.lock:
            if self.owner.closed:
                raise ToolError(f"MCP server {self.name} is closed")
            if self.connection is not None and self.connection.alive:
                return self.connection
            if self.connection is not None:
                self._lost(self.connection)
            connection = self._connect()
            try:
                await connection.open()
            except McpServerDown as exc:
                self.error = str(exc)
                logger.error("MCP server %s could not be restarted: %s", self.name, exc)
                raise ToolError(f"MCP server {self.name} is not running: {exc}") from exc
            if self.owner.closed:
                await connection.aclose()
                raise ToolError(f"MCP server {self.name} is closed")
            logger.info("MCP server %s restarted", self.name)
            self.connection, self.error = connection, ""
            return connection

    def _lost(self, connection: McpConnection) -> None:
        """Forget a dead connection; its clean-up runs in the background."""
        if self.connection is connection:
            self.connection = None
            self.error = connection.failure
        self.owner.close_later(connection)

    async def call(self, tool: str, arguments: dict[str, Any], context: ToolContext) -> str:
        """Call the server's ``tool``; every failure is a ToolError for the model."""
        connection = await self._live()
        try:
            result = await connection.call_tool(tool, arguments, self.config.timeout)
        except McpServerDown as exc:
            self._lost(connection)
            logger.warning("MCP server %s stopped during a call of %s: %s", self.name, tool, exc)
            raise ToolError(
                f"MCP server {self.name} is not running: {exc}. The next call will start it again."
            ) from exc
        except McpServerError as exc:
            raise ToolError(str(exc)) from exc
        folder = context.workspace / MEDIA_DIR / self.name
        return result_text(
            tool, result, folder, workspace=context.workspace, redact=connection.redact
        )

    def status(self, closed: bool) -> ServerStatus:
        names = tuple(t.name for t in self.tools)
        if closed:
            state: State = "closed"
        elif self.listed is None:
            state, names = ("not started" if self.failed_at is None else "failed"), ()
        elif (self.connection is not None and self.connection.alive) or not self.error:
            state = "connected"
        else:
            state = "failed"
        where, notes = address(self.config), tuple(self.notes)
        return ServerStatus(
            self.name, self.config.transport, where, state, names, self.error, notes
        )

    def note(self, note: str) -> None:
        """A config problem that does not stop the server: logged, shown by the doctor."""
        self.notes.append(note)
        logger.warning("MCP server %s: %s", self.name, note)


def _selected(server: _Server, listed: list[types.Tool]) -> list[types.Tool]:
    """``listed`` filtered by enabledTools / excludedTools; unknown names are noted."""
    config = server.config
    known = {t.name for t in listed}
    filters = (("enabledTools", config.enabled_tools), ("excludedTools", config.excluded_tools))
    for key, wanted in filters:
        unknown = [n for n in wanted or () if n not in known]
        if unknown:
            has = ", ".join(sorted(known)) or "none"
            server.note(f"{key} names tools it does not have: {', '.join(unknown)} (it has: {has})")
    enabled = set(config.enabled_tools) if config.enabled_tools is not None else known
    excluded = set(config.excluded_tools)
    return [t for t in listed if t.name in enabled and t.name not in excluded]


class McpToolset:
    """The tools of the configured MCP servers (see the module docstring)."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig],
        *,
        workspace: Path,
        reserved: Iterable[str] = (),
        connect_timeout: float = CONNECT_TIMEOUT,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        """``workspace``: the folder stdio servers run in (their working directory).
        ``reserved``: names of the bot's other tools; an MCP tool may not take one."""
        self.workspace = workspace
        self.reserved = frozenset(reserved)
        self.connect_timeout = connect_timeout
        self.retry_after = retry_after
        self.closed = False
        self._servers = [_Server(name, config, self) for name, config in servers.items()]
        self._tools: tuple[Tool, ...] = ()
        self._real: dict[str, tuple[str, str]] = {}
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    @classmethod
    def from_config(cls, config: FacioConfig, *, reserved: Iterable[str] = ()) -> McpToolset:
        """A toolset for ``config.mcp_servers``; nothing starts until ``tools()``."""
        return cls(config.mcp_servers, workspace=config.workspace, reserved=reserved)

    def fresh(self) -> McpToolset:
        """A new toolset with the same servers and settings and its own connections."""
        return McpToolset(
            {s.name: s.config for s in self._servers},
            workspace=self.workspace,
            reserved=self.reserved,
            connect_timeout=self.connect_timeout,
            retry_after=self.retry_after,
        )

    def for_subagent(self) -> McpToolset:
        """A subagent gets fresh connections of its own (closed when it ends)."""
        return self.fresh()

    async def tools(self) -> Sequence[Tool]:
        """The tools of the servers that are up; starts the ones not started yet."""
        async with self._lock:
            if self.closed:
                return ()
            now = asyncio.get_running_loop().time()
            due = [server for server in self._servers if server.due(now)]
            if due:
                self.workspace.mkdir(parents=True, exist_ok=True)
                await asyncio.gather(*(server.start() for server in due))
                self._build()
            return self._tools

    def real_name(self, name: str) -> tuple[str, str] | None:
        """``(server, tool)`` behind an offered tool name; None when it is not one."""
        return self._real.get(name)

    def _build(self) -> None:
        """Wrap the listed tools of servers not wrapped yet, in config order."""
        taken = set(self.reserved) | set(self._real)
        for server in self._servers:
            if server.listed is None or server.tools:
                continue
            for listed in _selected(server, server.listed):
                name = exposed_name(server.name, listed.name)
                if name in taken:
                    server.note(f"tool {listed.name} is not offered: {name} is already taken")
                    continue
                try:
                    wrapped = _wrap(server, name, listed)
                except ValueError as exc:
                    server.note(f"tool {listed.name} is not offered: {exc}")
                    continue
                taken.add(name)
                self._real[name] = (server.name, listed.name)
                server.tools.append(wrapped)
        self._tools = tuple(t for server in self._servers for t in server.tools)

    def status(self) -> list[ServerStatus]:
        """Every configured server's state, in config order."""
        return [server.status(self.closed) for server in self._servers]

    def close_later(self, connection: McpConnection) -> None:
        """Close ``connection`` in the background (awaited by :meth:`aclose`)."""
        task = asyncio.create_task(connection.aclose(), name=f"mcp-close-{connection.name}")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close every session and stop every server process; safe to call twice."""
        self.closed = True
        connections = [s.connection for s in self._servers if s.connection is not None]
        for server in self._servers:
            server.connection = None
        await asyncio.gather(*(c.aclose() for c in connections), *list(self._closing))


def _wrap(server: _Server, name: str, listed: types.Tool) -> SchemaTool:
    async def call(arguments: dict[str, Any], context: ToolContext) -> str:
        return await server.call(listed.name, arguments, context)

    description = listed.description or listed.title or listed.name
    return SchemaTool(name, description, listed.inputSchema, call)
