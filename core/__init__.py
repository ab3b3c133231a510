"""facio's core: the agent loop, events, providers, tools, approvals,
permissions, sessions and config models.

The SDK class ``Facio`` lives in ``bots.sdk`` and is re-exported by the
``facio`` package; it is not imported here because it builds on ``bots``,
which builds on this package.
"""

from core.agent import Agent, AgentSettings
from core.errors import (
    AgentError,
    ConfigError,
    CorruptSessionError,
    FacioError,
    SessionStoreError,
    ToolError,
)
from core.events import (
    AgentEvent,
    ApprovalRequest,
    CodeExecutionOutput,
    CodeExecutionOutputChunk,
    Response,
    ResponseChunk,
    Thoughts,
    ThoughtsChunk,
    ToolOutput,
)
from core.hooks import Hook, RunContext, ToolCallInfo
from core.permissions import PermissionManager
from core.sessions import JsonlSessionStore, MemorySessionStore, SessionStore
from core.tools import Tool, ToolContext, ToolRegistry, tool

__all__ = [
    "Agent",
    "AgentError",
    "AgentEvent",
    "AgentSettings",
    "ApprovalRequest",
    "CodeExecutionOutput",
    "CodeExecutionOutputChunk",
    "ConfigError",
    "CorruptSessionError",
    "FacioError",
    "Hook",
    "JsonlSessionStore",
    "MemorySessionStore",
    "PermissionManager",
    "Response",
    "ResponseChunk",
    "RunContext",
    "SessionStore",
    "SessionStoreError",
    "Thoughts",
    "ThoughtsChunk",
    "Tool",
    "ToolCallInfo",
    "ToolContext",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "tool",
]
