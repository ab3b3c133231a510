"""facio: talk to a code-action AI agent in Telegram, Slack and Discord.

The front door: the SDK and the event types, re-exported from ``core``.

    from facio import Facio
    result = await Facio.from_config("config.json").run("hello")
"""

from bots.sdk import Facio, RunResult
from core.agent import Agent, AgentSettings
from core.events import (
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
from core.tools import Tool, ToolContext, tool

__all__ = [
    "Agent",
    "AgentSettings",
    "ApprovalRequest",
    "CodeExecutionOutput",
    "CodeExecutionOutputChunk",
    "Facio",
    "Hook",
    "PermissionManager",
    "Response",
    "ResponseChunk",
    "RunContext",
    "RunResult",
    "Thoughts",
    "ThoughtsChunk",
    "Tool",
    "ToolCallInfo",
    "ToolContext",
    "ToolOutput",
    "tool",
]
