"""Programmatic tool calling: a Python API per ``ptcServers`` entry, for the kernel.

For each server, facio connects from the host, lists its tools and writes
``mcptools/<server>/<tool>.py`` (a pydantic ``Params`` model and ``run()``,
with mcpygen's generator) under ``<workspace>/.facio/ptc``, which is on
the kernel's ``PYTHONPATH``. A call from the kernel goes to the host's tool
server (``core.code.executor.HostToolServer``), is approved there as
``<server>_<tool>`` and runs with the host's parameters: the generated
files hold no command, URL, header or environment value.

Generation is cached: a digest of the server's (filtered) tool list is kept
next to the files, and the files are rewritten only when it changes. It is
checked each time a code toolset starts (each facio process).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config.models_servers import McpServerConfig
from core.errors import McpServerError

__all__ = ["ApiModule", "PtcServer", "generate_apis", "write_api"]

logger = logging.getLogger(__name__)

PACKAGE = "mcptools"
DIGEST_FILE = ".facio-tools.sha256"
GENERATOR = "facio-ptc-1"
"""Bump when the generated code changes shape: every server is then regenerated."""


@dataclass(frozen=True)
class PtcServer:
    """One MCP server the kernel may call, as the host starts it."""

    name: str
    config: McpServerConfig = field(repr=False)
    """How the host reaches it (command, env, URL, headers): never given to the kernel."""

    @classmethod
    def from_config(cls, name: str, config: McpServerConfig) -> PtcServer:
        return cls(name, config)

    @property
    def timeout(self) -> float:
        """Seconds one call may take."""
        return float(self.config.timeout)

    def offers(self, tool: str) -> bool:
        """Whether the config lets the agent use ``tool`` of this server."""
        if tool in self.config.excluded_tools:
            return False
        enabled = self.config.enabled_tools
        return enabled is None or tool in enabled


@dataclass(frozen=True)
class ApiModule:
    """One generated module: ``mcptools.<server>.<module>`` wraps MCP tool ``tool``."""

    server: str
    module: str
    tool: str
    summary: str


def _digest(tools: list[Any]) -> str:
    listed = sorted(
        (
            {
                "name": t.name,
                "description": t.description or "",
                "input": t.inputSchema,
                "output": t.outputSchema,
            }
            for t in tools
        ),
        key=lambda item: str(item["name"]),
    )
    text = json.dumps({"generator": GENERATOR, "tools": listed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes generating into the same workspace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_modules(folder: Path, server: str, tools: list[Any]) -> None:
    from mcpygen import apigen  # the generator: heavy, imported only when generating

    # mcpygen asks datamodel-code-generator for black and isort by name, which it
    # announces will need extras one day; they are installed, nothing to act on
    warnings.filterwarnings("ignore", "Black/isort will become optional", FutureWarning)

    # The kernel names the server; the host knows how to start it. No parameters here.
    (folder / "__init__.py").write_text(apigen.generate_init_definition(server, {}))
    for tool in tools:
        code = apigen.generate_input_model_code(tool.inputSchema)
        if tool.outputSchema:
            output = apigen.strip_imports(apigen.generate_output_model_code(tool.outputSchema))
            code = f"{code}\n\n{output}"
        function = apigen.generate_function_definition(
            original_name=tool.name,
            description=tool.description or "",
            structured_output=tool.outputSchema is not None,
        )
        (folder / f"{apigen.sanitize_name(tool.name)}.py").write_text(f"{code}\n\n{function}")


def write_api(root: Path, server: str, tools: list[Any]) -> bool:
    """Write ``server``'s API under ``root/mcptools`` unless it is current; True if written.

    The new files are written aside and swapped in, so a kernel importing
    meanwhile sees the old API or the new one, not half of each.
    """
    package = root / PACKAGE
    target = package / server
    digest = _digest(tools)
    with _locked(root / ".lock"):
        current = target / DIGEST_FILE
        if current.is_file() and current.read_text() == digest:
            return False
        package.mkdir(parents=True, exist_ok=True)
        init = package / "__init__.py"
        if not init.exists():
            init.write_text('"""Python APIs of MCP servers, generated by facio."""\n')
        fresh = Path(tempfile.mkdtemp(prefix=f".{server}-new-", dir=package))
        old = package / f".{server}-old-{uuid.uuid4().hex[:8]}"
        try:
            _write_modules(fresh, server, tools)
            (fresh / DIGEST_FILE).write_text(digest)
            if target.exists():
                target.rename(old)
            fresh.rename(target)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return True


async def _list_tools(server: PtcServer, cwd: Path) -> list[Any]:
    # the JSON-tool MCP path's connection: its environment, stderr into the log, redaction
    from core.mcp.connection import McpConnection
    from core.mcp.toolset import CONNECT_TIMEOUT

    # started as for a call (and as mcpServers are): `timeout` is what one call may take
    connection = McpConnection(server.name, server.config, cwd=cwd, connect_timeout=CONNECT_TIMEOUT)
    try:
        tools = await connection.open()
    finally:
        await connection.aclose()
    return [tool for tool in tools if server.offers(tool.name)]


def _summary(description: str | None) -> str:
    lines = (description or "").strip().splitlines()
    return lines[0].strip() if lines else ""


async def _generate(server: PtcServer, root: Path, cwd: Path) -> list[ApiModule]:
    """One server's API (generated or kept); [] when it cannot be reached."""
    try:
        tools = await _list_tools(server, cwd)
        written = await asyncio.to_thread(write_api, root, server.name, tools)
    except McpServerError as exc:  # redacted: no traceback, which would hold the raw cause
        logger.warning("ptcServers.%s: cannot generate its API: %s", server.name, exc)
        return []
    except Exception:  # one server down must not take the others (or the agent) along
        logger.warning("ptcServers.%s: cannot generate its API", server.name, exc_info=True)
        return []
    logger.info("ptcServers.%s: %s API", server.name, "generated" if written else "kept")
    from mcpygen.apigen import sanitize_name

    return [
        ApiModule(server.name, sanitize_name(t.name), t.name, _summary(t.description))
        for t in tools
    ]


async def generate_apis(
    servers: Mapping[str, PtcServer], root: Path, *, cwd: Path | None = None
) -> list[ApiModule]:
    """Generate (or keep) every server's API; the modules the kernel can import.

    ``cwd`` is where stdio servers start (the workspace; ``root`` if not
    given). The servers are reached at once, as ``mcpServers`` are: one that
    is slow to start (up to ``CONNECT_TIMEOUT``) does not hold up the others.
    A server that cannot be reached is left out with a warning; the others
    are still generated.
    """
    cwd = cwd or root
    cwd.mkdir(parents=True, exist_ok=True)
    generated = await asyncio.gather(*(_generate(s, root, cwd) for s in servers.values()))
    return [module for modules in generated for module in modules]
