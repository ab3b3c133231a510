"""MCP servers' tools, offered to the model as JSON tool calls (``mcpServers``).

The toolset is imported on first use: the ``mcp`` package takes over a second
to import (it loads its server side too), and every ``facio`` command, most
of which never talk to an MCP server, would pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from core.mcp.names import exposed_name

if TYPE_CHECKING:
    from core.mcp.toolset import McpToolset, ServerStatus

__all__ = ["McpToolset", "ServerStatus", "exposed_name"]

_LAZY = {"McpToolset", "ServerStatus"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("core.mcp.toolset"), name)
    raise AttributeError(f"module 'core.mcp' has no attribute {name!r}")
