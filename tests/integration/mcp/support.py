"""Helpers for the MCP tests: real server processes (the fake FastMCP server, the
published mcp-server-time), over stdio and over streamable HTTP on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.config.models_servers import McpServerConfig
from core.mcp import McpToolset
from core.tools.tool import Tool, ToolContext
from tests.ports import free_port

FAKE = str(Path(__file__).resolve().parents[2] / "fakes" / "mcp_server.py")
TIME_SERVER = str(Path(sys.executable).parent / "mcp-server-time")
START = 60.0
"""Seconds a server may take to start in tests (the machine is shared and slow)."""


def fake(*args: str, **settings: Any) -> McpServerConfig:
    """The fake FastMCP server over stdio."""
    return McpServerConfig(command=sys.executable, args=[FAKE, *args], **settings)


def refused(**settings: Any) -> McpServerConfig:
    """An HTTP server config whose port nothing listens on."""
    return McpServerConfig(url=f"http://127.0.0.1:{free_port()}/mcp", **settings)


def toolset(workspace: Path, **servers: McpServerConfig) -> McpToolset:
    return McpToolset(servers, workspace=workspace, connect_timeout=START)


def by_name(tools: Any) -> dict[str, Tool]:
    return {t.name: t for t in tools}


async def call(tools: dict[str, Tool], name: str, workspace: Path, /, **arguments: Any) -> str:
    return await tools[name].call(arguments, ToolContext(workspace=workspace))


def gone(pid: int) -> bool:
    """True when no process ``pid`` exists (a zombie counts as existing)."""
    return not Path(f"/proc/{pid}").exists()


def children(command_part: str) -> list[int]:
    """Pids of this process's children whose command line contains ``command_part``."""
    found: list[int] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and command_part in cmdline:
            found.append(int(entry.name))
    return found


class HttpServer:
    """The fake server over streamable HTTP, in its own process on 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, FAKE, "--http", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the test's timeout bounds this
        if not line.startswith("PORT "):
            raise RuntimeError(f"fake HTTP server did not start: {line!r}")
        self.port = int(line.split()[1])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


@contextmanager
def http_server(port: int = 0) -> Iterator[HttpServer]:
    server = HttpServer(port)
    server.start()
    try:
        yield server
    finally:
        server.kill()
