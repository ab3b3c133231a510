"""The host's tool server: MCP calls from the kernel, run with the host's parameters.

ipybox's tool server (mcpygen's ``ToolServer``) takes the server's command
or URL from the kernel's request and starts it with mcpygen's client. Ours:

- runs only the ``ptcServers`` of the config, with the host's parameters
  (command, env with secrets, URL, headers): the kernel names the server,
  it never says how to start one; tools a config filters out are refused
  before anyone is asked;
- reaches each server through :class:`core.mcp.connection.McpConnection`,
  the connection of the JSON-tool MCP path: the same environment (a safe
  base plus the config's ``env``), the server's stderr into facio's log
  (``core.mcp.stderr``), and its secrets redacted from every error the
  kernel receives and every log line;
- listens on two unix sockets, not on a TCP port (see :class:`~core.code.rundir.RunDir`):
  the kernel's, in its run folder, serves only what the kernel asks for (an
  MCP call, a shell command's approval); the host's, where no sandbox sees
  it, also serves the approval channel, on which facio *answers* approvals.
  Code could otherwise connect to that channel between two cells and grant
  its own requests. The kernel reaches its socket without a network, and
  other sessions' sandboxes do not have the file;
- leaves the process's signal handlers alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from mcp import types
from mcpygen.tool_exec.server import ToolCall, ToolServer

from core.code.ptc import PtcServer
from core.errors import McpServerDown, McpServerError
from core.mcp.connection import McpConnection

__all__ = ["HostToolServer"]

logger = logging.getLogger(__name__)


class _SignalFreeServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone.

    uvicorn takes over SIGINT and SIGTERM for as long as it serves, then
    restores what it found and raises the signals it caught again. With a
    tool server per kernel, that meant: Ctrl-C in ``facio chat`` shut down
    every kernel's tool server (their code could no longer ask for
    approval), a worker's SIGTERM went to them instead of arq, and servers
    stopping in another order than they started left a dead server's
    handler installed. The host owns its signals; these servers stop when
    their kernel does.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


KERNEL_ROUTES = frozenset({"/run", "/approve", "/status"})
"""What the kernel's socket serves: an MCP call, an approval asked, the readiness check."""


class _KernelSide:
    """The tool server's app as the kernel may use it: ``KERNEL_ROUTES`` only."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] not in KERNEL_ROUTES:
            await send({"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": b"not for the kernel"})
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def _text(result: types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


class HostToolServer(ToolServer):  # type: ignore[misc]
    """ipybox's tool server, restricted to the configured servers and their tools."""

    _server: uvicorn.Server | None
    _server_task: asyncio.Task[None] | None

    def __init__(
        self,
        servers: Mapping[str, PtcServer],
        *,
        cwd: Path,
        kernel_socket: Path,
        host_socket: Path,
        **kwargs: Any,
    ) -> None:
        """``cwd``: where stdio servers start (the workspace, as for ``mcpServers``);
        ``kernel_socket``, ``host_socket``: where the kernel and facio reach it."""
        self.servers = dict(servers)
        self.cwd = cwd
        self.kernel_socket = kernel_socket
        self.host_socket = host_socket
        self._connections: dict[str, McpConnection] = {}
        self._connecting = asyncio.Lock()
        self._kernel_server: uvicorn.Server | None = None
        self._kernel_task: asyncio.Task[None] | None = None
        super().__init__(**kwargs)

    def _config(self, app: Any, socket: Path) -> uvicorn.Config:
        return uvicorn.Config(
            app, uds=str(socket), log_level=self.log_level.lower(), ws="wsproto", lifespan="off"
        )

    async def start(self) -> None:
        """Serve on the host's loop, without touching signal handlers."""
        if self._server_task is not None:
            raise RuntimeError("the tool server is already running")
        self._server = _SignalFreeServer(self._config(self.app, self.host_socket))
        self._server_task = asyncio.create_task(self._server.serve())
        kernel_side = self._config(_KernelSide(self.app), self.kernel_socket)
        self._kernel_server = _SignalFreeServer(kernel_side)
        self._kernel_task = asyncio.create_task(self._kernel_server.serve())
        await self._ready()

    async def stop(self) -> None:
        if self._kernel_server is not None:
            self._kernel_server.should_exit = True
        await super().stop()
        if self._kernel_task is not None:
            await asyncio.gather(self._kernel_task, return_exceptions=True)
            self._kernel_task = self._kernel_server = None

    async def _ready(self) -> None:
        """Wait until both sockets answer (mcpygen's check is TCP)."""
        await self._answers(self.host_socket, self._server_task)
        await self._answers(self.kernel_socket, self._kernel_task)

    async def _answers(self, socket: Path, task: asyncio.Task[None] | None) -> None:
        connector = aiohttp.UnixConnector(path=str(socket))
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(self.ready_checks):
                if task is not None and task.done():
                    break  # it failed to start (the task holds why)
                try:
                    async with session.get("http://localhost/status") as response:
                        response.raise_for_status()
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(self.ready_check_interval)
        raise RuntimeError(f"the tool server did not answer on {socket}")

    async def run(self, request: ToolCall) -> dict[str, Any] | str | None:
        """One MCP call from the kernel: refuse unknown ones, ask, run with a timeout."""
        server = self.servers.get(request.server_name)
        if server is None:
            return {"error": f"no MCP server named {request.server_name!r} is configured"}
        if not server.offers(request.tool_name):
            return {"error": f"{request.server_name} does not offer {request.tool_name!r}"}
        if error := await self._approve(request.server_name, request.tool_name, request.tool_args):
            return error  # type: ignore[no-any-return]
        return await self._call(server, request.tool_name, request.tool_args)

    async def _call(self, server: PtcServer, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run an approved call: the result as mcpygen's generated ``run()`` expects it."""
        call = f"{server.name}.{tool}"
        connection: McpConnection | None = None
        try:
            connection = await self._connection(server)
            result = await connection.call_tool(tool, args, server.timeout)
        except McpServerError as exc:  # its message is redacted already
            if isinstance(exc, McpServerDown) and connection is not None:
                await self._drop(server.name, connection)
            logger.warning("ptcServers %s failed: %s", call, exc)
            return {"error": f"{call} failed: {exc}"}
        except Exception as exc:  # noqa: BLE001 - the boundary of one request from the kernel
            reason = f"{type(exc).__name__}: {exc}"
            if connection is not None:
                reason = connection.redact(reason)
            logger.warning("ptcServers %s failed unexpectedly: %s", call, reason)
            return {"error": f"{call} failed: {reason}"}
        if result.isError:
            said = connection.redact(_text(result)) or "the server gave no details"
            logger.info("ptcServers %s answered an error: %s", call, said)
            return {"error": f"{call} failed: {said}"}
        if result.structuredContent:
            return {"result": result.structuredContent}
        return {"result": _text(result) or None}

    async def _connection(self, server: PtcServer) -> McpConnection:
        """The live connection to ``server``, (re)started when there is none."""
        connection = self._connections.get(server.name)
        if connection is not None and connection.alive:
            return connection  # the common case: no lock, no wait behind a starting server
        async with self._connecting:
            connection = self._connections.get(server.name)
            if connection is not None and connection.alive:
                return connection
            if connection is not None:
                await connection.aclose()
            connection = McpConnection(
                server.name, server.config, cwd=self.cwd, connect_timeout=self.connect_timeout
            )
            await connection.open()  # McpServerDown, redacted, when it does not start
            self._connections[server.name] = connection
            return connection

    async def _drop(self, name: str, connection: McpConnection) -> None:
        async with self._connecting:
            if self._connections.get(name) is connection:
                del self._connections[name]
        await connection.aclose()

    async def _close_mcp_clients(self) -> None:
        """Stop every server this tool server started (on stop and on ``/reset``)."""
        async with self._connecting:
            connections, self._connections = list(self._connections.values()), {}
        await asyncio.gather(*(c.aclose() for c in connections))
