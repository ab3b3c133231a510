"""MCP servers' tools, offered to the model as JSON tool calls (``mcpServers``)."""

from core.mcp.names import exposed_name
from core.mcp.toolset import McpToolset, ServerStatus

__all__ = ["McpToolset", "ServerStatus", "exposed_name"]
