"""One live session with one MCP server, owned by a task of its own.

The MCP SDK's transports and ``ClientSession`` are anyio context managers:
they must be entered and left by the same task. Tool calls come from other
tasks (the agent runs each call as a task and may cancel it), so a
:class:`McpConnection` keeps one owner task that opens the transport and the
session, lists the tools, then waits to be told to close; calls use the
session from any task (JSON-RPC requests carry ids, so concurrent calls are
fine and a cancelled call leaves the session usable).

Every error the SDK, httpx or the OS raise about a server is turned into a
:class:`~core.errors.McpServerError` here, and only here, with the server's
secrets redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import ClientSession, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError
from mcp.shared.message import SessionMessage

from core.config.models_servers import McpServerConfig
from core.errors import McpServerDown, McpServerError
from core.mcp.stderr import StderrLog
from core.mcp.transport import Redactor, address, http_client, stdio_parameters

__all__ = ["CLOSE_TIMEOUT", "McpConnection"]

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0
"""Seconds to wait for a connection to close before its owner task is cancelled
(a stdio server gets 2 s after its stdin closes, then SIGTERM, then SIGKILL)."""

Streams = tuple[
    MemoryObjectReceiveStream[SessionMessage | Exception],
    MemoryObjectSendStream[SessionMessage],
]


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` says the session's streams are gone (the server went away)."""
    if isinstance(exc, McpError):
        return exc.error.code == types.CONNECTION_CLOSED
    return isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError)


class McpConnection:
    """A session with ``config``'s server: :meth:`open`, :meth:`call_tool`, :meth:`aclose`."""

    def __init__(
        self, name: str, config: McpServerConfig, *, cwd: Path, connect_timeout: float
    ) -> None:
        self.name = name
        self.config = config
        self.cwd = cwd
        self.connect_timeout = connect_timeout
        self.redact = Redactor.for_server(config)
        self.failure = ""
        """Why the connection is not usable ("" while it is)."""
        self._session: ClientSession | None = None
        self._stderr: StderrLog | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[list[types.Tool]] | None = None
        self._ended: asyncio.Future[None] | None = None
        """Done when the owner task has left the session: calls still waiting
        must stop (the SDK does not always answer them when it is torn down)."""
        self._closing = asyncio.Event()

    @property
    def where(self) -> str:
        """The server's address for messages: its command or its URL (no secrets)."""
        return address(self.config)

    @property
    def alive(self) -> bool:
        """True while calls can be sent."""
        return (
            self._session is not None
            and not self.failure
            and self._task is not None
            and not self._task.done()
        )

    async def open(self) -> list[types.Tool]:
        """Start or reach the server, initialize, and list its tools.

        Raises McpServerDown with the reason when that fails or takes longer
        than ``connect_timeout``; nothing is left running then.
        """
        loop = asyncio.get_running_loop()
        self._ready, self._ended = loop.create_future(), loop.create_future()
        self._task = asyncio.create_task(self._own(self._ready), name=f"mcp-{self.name}")
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.shield(self._ready)
        except TimeoutError as exc:
            self.failure = self._with_stderr(f"it did not answer within {self.connect_timeout:g} s")
            await self.aclose()
            raise McpServerDown(self.name, self.failure) from exc
        except BaseException:
            await self.aclose()
            raise

    async def _own(self, ready: asyncio.Future[list[types.Tool]]) -> None:
        """The owner task: everything the SDK needs entered and left in one task."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await self._transport(stack)
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                tools = await self._list_tools(session)
                self._session = session
                ready.set_result(tools)
                await self._closing.wait()
        except Exception as exc:  # noqa: BLE001 - the connection's loop boundary: say why, end
            reason = self.describe(exc)
            starting = not ready.done()
            if starting:
                reason = self._with_stderr(reason)
            self.failure = self.failure or reason
            if starting:
                ready.set_exception(McpServerDown(self.name, reason))
            else:
                logger.warning("MCP server %s stopped: %s", self.name, reason)
        finally:
            self.failure = self.failure or "the connection was closed"
            if self._ended is not None and not self._ended.done():
                self._ended.set_result(None)

    async def _transport(self, stack: contextlib.AsyncExitStack) -> Streams:
        if self.config.command is not None:
            stderr = StderrLog(self.name, self.redact)
            self._stderr = stderr
            stack.push_async_callback(stderr.aclose)
            stderr.start()
            params = stdio_parameters(self.config, self.cwd)
            read, write = await stack.enter_async_context(
                stdio_client(params, errlog=stderr.writer)
            )
            stderr.spawned()
            return read, write
        client = await stack.enter_async_context(http_client(self.config))
        url = self.config.url or ""
        read, write, _ = await stack.enter_async_context(
            streamable_http_client(url, http_client=client)
        )
        return read, write

    @staticmethod
    async def _list_tools(session: ClientSession) -> list[types.Tool]:
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                return tools

    def _with_stderr(self, reason: str) -> str:
        said = self._stderr.tail(1) if self._stderr is not None else ""
        return f"{reason} (its stderr said: {said})" if said else reason

    def describe(self, exc: BaseException) -> str:
        """Why ``exc`` happened, in words for a person; secrets redacted."""
        leaf = _leaf(exc)
        if isinstance(leaf, FileNotFoundError):
            reason = f"cannot start {self.config.command!r}: command not found"
        elif isinstance(leaf, PermissionError):
            reason = f"cannot start {self.config.command!r}: permission denied"
        elif isinstance(leaf, OSError) and self.config.command is not None:
            reason = f"cannot start {self.config.command!r}: {leaf.strerror or leaf}"
        elif isinstance(leaf, httpx.ConnectError):
            reason = f"cannot connect to {self.where} ({leaf})"
        elif isinstance(leaf, httpx.TimeoutException):
            reason = f"{self.where} did not answer in time ({type(leaf).__name__})"
        elif isinstance(leaf, httpx.HTTPStatusError):
            reason = f"{self.where} answered HTTP {leaf.response.status_code}"
        elif isinstance(leaf, httpx.HTTPError):
            reason = f"HTTP error with {self.where}: {type(leaf).__name__}: {leaf}"
        elif _closed(leaf):
            stdio = self.config.command is not None
            reason = "the server process exited" if stdio else "the connection closed"
        elif isinstance(leaf, McpError):
            reason = f"the server answered an error: {leaf.error.message}"
        else:
            reason = f"{type(leaf).__name__}: {leaf}"
        return self.redact(reason)

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], timeout: float
    ) -> types.CallToolResult:
        """Call ``tool`` (the server's own name).

        Raises McpServerDown when the server is not running (or stops during
        the call), McpServerError when the call times out or the server
        refuses it; the connection stays usable after those.
        """
        session, ended = self._session, self._ended
        if session is None or ended is None or not self.alive:
            raise McpServerDown(self.name, self.failure or "it is not connected")
        call = asyncio.ensure_future(session.call_tool(tool, arguments))
        try:
            async with asyncio.timeout(timeout):
                waiting: set[asyncio.Future[Any]] = {call, ended}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not call.done():  # the owner task left the session while the call waited
                raise self._broken(None)
            return call.result()
        except TimeoutError as exc:
            raise McpServerError(
                self.name,
                f"MCP server {self.name}: {tool} timed out after {timeout:g} s (the server's "
                "timeout); it may still be running there",
            ) from exc
        except (McpError, anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            if _closed(exc):
                raise self._broken(exc) from exc
            raise McpServerError(
                self.name, f"MCP server {self.name} refused {tool}: {self.describe(exc)}"
            ) from exc
        except RuntimeError as exc:
            # The SDK's check of structured content against the tool's outputSchema.
            raise McpServerError(
                self.name, f"MCP server {self.name} sent an invalid result: {self.redact(str(exc))}"
            ) from exc
        finally:
            if not call.done():
                call.cancel()  # stop waiting for an answer that will not be used
            elif not call.cancelled():
                call.exception()  # seen, so asyncio does not report it as lost

    def _broken(self, exc: BaseException | None) -> McpServerDown:
        """The connection is gone during a call: remember why, let the owner clean up."""
        if exc is not None:
            self.failure = self.failure or self.describe(exc)
        self.failure = self.failure or "the connection was closed"
        self._closing.set()
        return McpServerDown(self.name, f"{self.failure}; the call may or may not have run")

    async def aclose(self) -> None:
        """Close the session and stop the server process; safe to call twice."""
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        if self._ready is not None and not self._ready.done():
            task.cancel()  # still starting (maybe stuck in initialize): nothing to close politely
        done, _ = await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)
        if not done:
            logger.warning(
                "MCP server %s did not close in %g s; cancelling", self.name, CLOSE_TIMEOUT
            )
            task.cancel()
            await asyncio.wait({task})
