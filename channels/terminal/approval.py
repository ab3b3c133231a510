"""The approval prompt: show the exact call, ask, record the choice.

The four choices are docs/design.md's: approve once, reject, allow for the
session, always allow. "Always" and "session" go through the agent's own
PermissionManager — the one that decides later calls — so the very next
identical call runs without asking. On a terminal, lines typed before the
prompt appeared are dropped: consent counts only once the person has seen
what they agree to (piped answers, written in advance on purpose, are kept).
"""

from __future__ import annotations

import json
import unicodedata
from enum import Enum
from typing import Any

from channels.terminal.console import Console, LineReader
from core.events import ApprovalRequest
from core.permissions import PermissionManager

__all__ = ["PROMPT", "Choice", "ask_approval", "format_request", "parse_choice"]

PROMPT = "Approve? [Y/n/a/s] "
CODE_ARG = "code"


class Choice(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    SESSION = "session"
    ALWAYS = "always"


_ANSWERS = {
    "": Choice.APPROVE,
    "y": Choice.APPROVE,
    "yes": Choice.APPROVE,
    "n": Choice.REJECT,
    "no": Choice.REJECT,
    "a": Choice.ALWAYS,
    "always": Choice.ALWAYS,
    "s": Choice.SESSION,
    "session": Choice.SESSION,
}


def parse_choice(answer: str) -> Choice | None:
    """The choice an answer means (Enter approves); None when it means none."""
    return _ANSWERS.get(answer.strip().lower())


def _visible(text: str) -> str:
    """``text`` with control and format characters written as escapes (``\\x1b``).

    The prompt shows what the person consents to: an escape sequence, a bidi
    override or a zero-width character in the arguments (the model wrote
    them) must not redraw, reorder or hide part of it. Newlines and tabs stay.
    """
    return "".join(
        ascii(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" else ch
        for ch in text
    )


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def format_request(request: ApprovalRequest) -> str:
    """The tool name and its arguments as the person should read them.

    Arguments are pretty JSON; a ``code`` argument is shown as a code block
    so that multi-line code reads as code, not as one escaped string.
    """
    who = f" (agent {request.agent_id})" if request.agent_id != "main" else ""
    lines = [f"approval needed{who}: {request.tool_name}"]
    args: dict[str, Any] = dict(request.tool_args)
    code = args.pop(CODE_ARG, None)
    if args or code is None:
        lines.append(_indent(json.dumps(args, indent=2, ensure_ascii=False, default=str)))
    if code is not None:
        lines.append(_indent(f"{CODE_ARG}:\n```python\n{code}\n```"))
    return _visible("\n".join(lines))


def _outcome(choice: Choice, tool: str) -> str:
    return {
        Choice.APPROVE: f"approved: {tool} runs once",
        Choice.REJECT: f"rejected: {tool} will not run",
        Choice.SESSION: f"allowed for this session: {tool} runs without asking until /new or exit",
        Choice.ALWAYS: f"always allowed: {tool} runs without asking from now on (saved)",
    }[choice]


async def _read_choice(console: Console, reader: LineReader, tool: str) -> Choice | None:
    """Ask until the answer means a choice; None at end of input."""
    while True:
        console.write(PROMPT)
        answer = await reader.read_line()
        if answer is None:
            console.end_line()
            return None
        console.typed_line(reader)
        choice = parse_choice(answer)
        if choice is not None:
            return choice
        console.line(
            f"please answer y (approve once), n (reject), a (always allow {tool}) "
            f"or s (allow {tool} for this session)"
        )


async def ask_approval(
    request: ApprovalRequest,
    console: Console,
    reader: LineReader,
    permissions: PermissionManager | None,
) -> Choice:
    """Show ``request``, ask, and decide it; end of input rejects (deny by default).

    Cancelling this coroutine (Ctrl-C) leaves the request undecided.
    """
    if permissions is not None and permissions.is_allowed(request.tool_name, request.tool_args):
        # An earlier answer in this same step ("a" or "s") already covers this call.
        request.approve(True)
        console.line(f"approved: {request.tool_name} is allowed by your earlier answer")
        return Choice.APPROVE
    console.line(format_request(request))
    if reader.echoes:  # on a terminal, lines typed before the prompt showed are no answer
        reader.discard_pending()
    choice = await _read_choice(console, reader, request.tool_name)
    if choice is None:
        request.approve(False)
        console.line(f"rejected: {request.tool_name} will not run (end of input)")
        return Choice.REJECT
    if choice in (Choice.ALWAYS, Choice.SESSION):
        if permissions is None:
            console.line("no permission rules here to remember that; approving this call once")
            choice = Choice.APPROVE
        elif choice is Choice.ALWAYS:
            await permissions.allow_always(request.tool_name)
        else:
            await permissions.allow_session(request.tool_name)
    request.approve(choice is not Choice.REJECT)
    console.line(_outcome(choice, request.tool_name))
    return choice
