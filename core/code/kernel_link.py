"""facio's side inside the kernel: the link to the host's tool server, and limit reports.

This file is not imported by facio: its text is run in each kernel at boot
(``core.code.kernel``) as the module ``facio_kernel``. It uses the standard
library only, and imports nothing heavy until it is used.

- :class:`ToolRunner` and :class:`ApprovalRequestor` are what the generated
  ``mcptools`` APIs and ipybox's shell-approval hooks call. They speak HTTP to
  the host's tool server over the unix socket named by ``FACIO_TOOL_SOCKET``,
  a file in this kernel's own run folder: it works without a network (a
  sandbox with ``network: off``), and no other kernel's sandbox has the file.
  They raise mcpygen's errors (``ApprovalRejectedError``, …), as the
  TCP clients they replace do.
- :func:`install_limit_reports` (sandboxed kernels) shows a ``MemoryError``
  or a write past the file-size limit as usual, then tells the host which
  limit was reached with a display message of type :data:`LIMIT_MIME`.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import os
import socket
from typing import Any

SOCKET_ENV = "FACIO_TOOL_SOCKET"
LIMIT_MIME = "application/vnd.facio.limit+json"
"""Display data ``{"limit": "memoryMb" | "fileSizeMb"}``: the cell reached that limit."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        self.sock = sock


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python  # what mcpygen's clients send

    return to_jsonable_python(value)


def _post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to the tool server; its JSON answer (it may wait for a person)."""
    connection = _UnixConnection(os.environ[SOCKET_ENV])
    try:
        connection.request(
            "POST", path, json.dumps(_jsonable(body)), {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    if response.status >= 400:
        from mcpygen.tool_exec.client import ToolRunnerError

        raise ToolRunnerError(f"facio's tool server answered HTTP {response.status}")
    answer: dict[str, Any] = json.loads(data)
    return answer


def _raise_for(answer: dict[str, Any]) -> None:
    if "error" in answer:
        from mcpygen.tool_exec.client import _make_error

        raise _make_error(answer)


class ToolRunner:
    """Calls a tool of an MCP server that the host runs (``mcptools.<server>`` use it)."""

    def __init__(
        self,
        server_name: str,
        server_params: dict[str, Any] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        """``server_params``, ``host`` and ``port`` are accepted as mcpygen's runner takes
        them, and ignored: the host knows how to start its servers and where it listens."""
        self.server_name = server_name
        self.server_params = server_params or {}

    def run_sync(self, tool_name: str, tool_args: dict[str, Any]) -> Any:
        answer = _post(
            "/run",
            {
                "server_name": self.server_name,
                "server_params": self.server_params,
                "tool_name": tool_name,
                "tool_args": tool_args,
            },
        )
        _raise_for(answer)
        return answer["result"]

    async def run(self, tool_name: str, tool_args: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self.run_sync, tool_name, tool_args)


class ApprovalRequestor:
    """Asks the host for approval (ipybox's hooks for ``!cmd`` and ``%%bash`` use it)."""

    def __init__(self, server_name: str, host: str | None = None, port: int | None = None) -> None:
        self.server_name = server_name

    def request_sync(self, tool_name: str, tool_args: dict[str, Any]) -> None:
        body = {"server_name": self.server_name, "tool_name": tool_name, "tool_args": tool_args}
        _raise_for(_post("/approve", body))

    async def request(self, tool_name: str, tool_args: dict[str, Any]) -> None:
        await asyncio.to_thread(self.request_sync, tool_name, tool_args)


def limit_of(error: BaseException) -> str | None:
    """The limit (its config name) that ``error`` says the cell reached, if any."""
    if isinstance(error, MemoryError):
        return "memoryMb"
    if isinstance(error, OSError) and error.errno == errno.EFBIG:
        return "fileSizeMb"
    return None


def install_limit_reports(shell: Any) -> None:
    """Report a reached limit to the host after the usual traceback."""

    def report(shell: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        limit = limit_of(value)
        if limit is not None:
            from IPython.display import display

            display({LIMIT_MIME: {"limit": limit}}, raw=True)  # type: ignore[no-untyped-call]

    shell.set_custom_exc((MemoryError, OSError), report)
