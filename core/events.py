"""The events an agent yields while it works (the seed API).

Every event carries ``agent_id``: "main" for the top-level agent, "sub-xxxx"
for a subagent. On the wire (outbox, SSE) an event becomes a JSON object with
a snake_case ``type`` plus ``session_key``, ``turn_id``, ``agent_id`` and its
own fields; see :func:`to_wire`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

MAIN_AGENT = "main"


def new_approval_id() -> str:
    """An unguessable approval id: 96 random bits in 16 URL-safe characters.

    Short enough to travel in a 64-byte Telegram callback payload with room
    for the choice.
    """
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, kw_only=True)
class ThoughtsChunk:
    """A piece of the model's reasoning, as it streams."""

    content: str
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class Thoughts:
    """The model's whole reasoning for one step."""

    content: str
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class ResponseChunk:
    """A piece of the answer, as it streams."""

    content: str
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class Response:
    """The model's whole answer for one step."""

    content: str
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class CodeExecutionOutputChunk:
    """Output of running code, as it streams."""

    text: str
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class CodeExecutionOutput:
    """The whole output of one code execution."""

    text: str
    images: tuple[str, ...] = ()
    """Paths of images the code produced, saved under the workspace."""
    truncated: bool = False
    error: str | None = None
    agent_id: str = MAIN_AGENT


@dataclass(frozen=True, kw_only=True)
class ToolOutput:
    """The result of one tool call, as the model will see it."""

    tool_name: str
    tool_call_id: str
    content: str
    is_error: bool = False
    agent_id: str = MAIN_AGENT


@dataclass(eq=False, kw_only=True)
class ApprovalRequest:
    """A tool call waiting for consent.

    The agent is suspended until :meth:`approve` is called (or the approval
    timeout passes, which counts as a rejection). The first decision wins;
    later calls change nothing and return False.
    """

    tool_name: str
    tool_args: dict[str, Any]
    tool_call_id: str = ""
    agent_id: str = MAIN_AGENT
    approval_id: str = field(default_factory=new_approval_id)
    parkable: bool = True
    """False when raised inside running code (a kernel calling an MCP tool, a shell
    command, a subagent's tool call): only the process running that code can act
    on the decision, so the runtime holds it there instead of parking the turn."""
    _decision: bool | None = field(default=None, init=False, repr=False)
    _decided: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def approve(self, granted: bool = True) -> bool:
        """Decide: True runs the tool, False rejects it. Returns True if this call decided."""
        if self._decision is not None:
            return False
        self._decision = bool(granted)
        self._decided.set()
        return True

    @property
    def decision(self) -> bool | None:
        """True/False once decided, None while pending."""
        return self._decision

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the decision; a timeout decides it as a rejection."""
        try:
            await asyncio.wait_for(self._decided.wait(), timeout)
        except TimeoutError:
            self.approve(False)
        return bool(self._decision)


AgentEvent = (
    ThoughtsChunk
    | Thoughts
    | ResponseChunk
    | Response
    | ApprovalRequest
    | CodeExecutionOutputChunk
    | CodeExecutionOutput
    | ToolOutput
)

EVENT_TYPES: tuple[type, ...] = (
    ThoughtsChunk,
    Thoughts,
    ResponseChunk,
    Response,
    ApprovalRequest,
    CodeExecutionOutputChunk,
    CodeExecutionOutput,
    ToolOutput,
)


def wire_type(cls: type) -> str:
    """``ResponseChunk`` → ``response_chunk``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def to_wire(event: AgentEvent, *, session_key: str, turn_id: str) -> dict[str, Any]:
    """The JSON object that represents ``event`` in the outbox and on SSE."""
    data: dict[str, Any] = {
        "type": wire_type(type(event)),
        "session_key": session_key,
        "turn_id": turn_id,
    }
    for f in fields(event):
        if f.name.startswith("_"):
            continue
        value = getattr(event, f.name)
        data[f.name] = list(value) if isinstance(value, tuple) else value
    return data
