"""Tools: typed Python callables the model may call, and their registry."""

from core.tools.registry import ToolRegistry
from core.tools.tool import Tool, ToolContext, tool

__all__ = ["Tool", "ToolContext", "ToolRegistry", "tool"]
