"""Lifecycle hooks: instrumentation and approval policy around an agent run.

Subclass :class:`Hook` and override what you need; every method is a no-op by
default. A run is one ``Agent.stream`` call (one ``Facio.run``).

``on_approval_request`` is the policy hook: return True to approve, False to
reject, None to leave the decision to the next hook, the permission rules
and finally the person (or, in ``Facio.run``, deny by default). The first
hook that returns a bool decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.events import ApprovalRequest, ToolOutput


@dataclass(frozen=True)
class RunContext:
    session_key: str
    agent_id: str
    prompt: str | None
    """The message that started the run; None when it resumes a suspended turn."""


@dataclass(frozen=True)
class ToolCallInfo:
    tool_call_id: str
    tool_name: str
    tool_args: dict[str, Any]


class Hook:
    async def before_run(self, ctx: RunContext) -> None:
        return None

    async def after_run(self, ctx: RunContext, response: str) -> None:
        """``response`` is the run's last answer text ("" when there was none)."""
        return None

    async def before_tool_call(self, ctx: RunContext, call: ToolCallInfo) -> None:
        return None

    async def after_tool_call(
        self, ctx: RunContext, call: ToolCallInfo, output: ToolOutput
    ) -> None:
        return None

    async def on_approval_request(self, ctx: RunContext, request: ApprovalRequest) -> bool | None:
        return None

    async def on_error(self, ctx: RunContext, error: BaseException) -> None:
        return None
