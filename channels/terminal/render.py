"""Agent events as terminal text.

Chunks are written the moment they arrive; the whole-step events that
follow them (``Thoughts``, ``Response``, ``CodeExecutionOutput``) only end
the block, unless nothing was streamed for it — notes the agent writes
itself (a rejection, the max-turns stop) come as a bare ``Response``.
Thoughts are dimmed and labelled so they never read as part of the answer;
tool results are one dimmed line, cut short.
"""

from __future__ import annotations

from typing import Literal

from channels.terminal.console import Console
from core.events import (
    MAIN_AGENT,
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

__all__ = ["Renderer", "shorten"]

Block = Literal["thoughts", "response", "code"]

TOOL_OUTPUT_LIMIT = 200
THOUGHTS_LABEL = "thinking: "


def shorten(text: str, limit: int = TOOL_OUTPUT_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class Renderer:
    """Writes one turn's events to a :class:`Console`; approvals are not its business."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._block: tuple[str, Block] | None = None
        self._streamed: set[tuple[str, Block]] = set()

    def _open(self, agent_id: str, block: Block) -> None:
        """Start ``block`` on a fresh line unless it is the one being written."""
        key = (agent_id, block)
        if self._block == key:
            return
        self.console.end_line()
        self._block = key
        if agent_id != MAIN_AGENT:
            self.console.write(f"[{agent_id}] ", dim=True)
        if block == "thoughts":
            self.console.write(THOUGHTS_LABEL, dim=True)

    def _close(self, agent_id: str, block: Block) -> bool:
        """End ``block``; True when its text was already streamed."""
        key = (agent_id, block)
        streamed = key in self._streamed
        self._streamed.discard(key)
        if self._block == key:
            self.console.end_line()
            self._block = None
        return streamed

    def _chunk(self, agent_id: str, block: Block, text: str) -> None:
        if not text:
            return
        self._open(agent_id, block)
        self._streamed.add((agent_id, block))
        self.console.write(text, dim=block == "thoughts")

    def _whole(self, agent_id: str, block: Block, text: str) -> None:
        if not self._close(agent_id, block) and text:
            self._chunk(agent_id, block, text)
            self._close(agent_id, block)

    def render(self, event: AgentEvent) -> None:
        """Write ``event``; an ``ApprovalRequest`` only ends the current line."""
        if isinstance(event, ThoughtsChunk):
            self._chunk(event.agent_id, "thoughts", event.content)
        elif isinstance(event, Thoughts):
            self._whole(event.agent_id, "thoughts", event.content)
        elif isinstance(event, ResponseChunk):
            self._chunk(event.agent_id, "response", event.content)
        elif isinstance(event, Response):
            self._whole(event.agent_id, "response", event.content)
        elif isinstance(event, CodeExecutionOutputChunk):
            self._chunk(event.agent_id, "code", event.text)
        elif isinstance(event, CodeExecutionOutput):
            self._code_done(event)
        elif isinstance(event, ToolOutput):
            self._tool_output(event)
        elif isinstance(event, ApprovalRequest):
            self.finish()

    def _code_done(self, event: CodeExecutionOutput) -> None:
        self._whole(event.agent_id, "code", event.text)
        if event.truncated:
            self.console.line("(output truncated)", dim=True)
        for image in event.images:
            self.console.line(f"image: {image}", dim=True)
        if event.error:
            self.console.line(f"code error: {shorten(event.error)}")

    def _tool_output(self, event: ToolOutput) -> None:
        self.finish()
        status = "failed:" if event.is_error else "->"
        who = f"[{event.agent_id}] " if event.agent_id != MAIN_AGENT else ""
        self.console.line(f"  {who}{event.tool_name} {status} {shorten(event.content)}", dim=True)

    def finish(self) -> None:
        """End whatever block is open (before a prompt, or at the end of the turn)."""
        self.console.end_line()
        self._block = None
