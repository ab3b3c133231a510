"""facio: talk to a code-action AI agent in Telegram, Slack and Discord.

The front door: the SDK and everything a direct ``Agent(provider, ...)``
needs (events, tools, hooks, permissions, session stores, providers),
re-exported from ``core`` and ``bots``.

    from facio import Facio
    async with Facio.from_config("config.json") as bot:
        result = await bot.run("hello")
"""

from bots.sdk import Facio, RunResult
from core.agent import Agent, AgentSettings
from core.errors import ConfigError, FacioError, ToolError
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
from core.providers import (
    AnthropicProvider,
    OpenAIChatProvider,
    Provider,
    Script,
    ScriptedProvider,
    ScriptRule,
)
from core.sessions import JsonlSessionStore, MemorySessionStore, SessionStore
from core.tools import Tool, ToolContext, tool

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentSettings",
    "AnthropicProvider",
    "ApprovalRequest",
    "CodeExecutionOutput",
    "CodeExecutionOutputChunk",
    "ConfigError",
    "Facio",
    "FacioError",
    "Hook",
    "JsonlSessionStore",
    "MemorySessionStore",
    "OpenAIChatProvider",
    "PermissionManager",
    "Provider",
    "Response",
    "ResponseChunk",
    "RunContext",
    "RunResult",
    "Script",
    "ScriptRule",
    "ScriptedProvider",
    "SessionStore",
    "Thoughts",
    "ThoughtsChunk",
    "Tool",
    "ToolCallInfo",
    "ToolContext",
    "ToolError",
    "ToolOutput",
    "tool",
]
