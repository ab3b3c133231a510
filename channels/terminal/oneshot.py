"""``facio run "message"``: one turn, streamed to stdout, for scripts and quick questions.

Approvals are asked on the terminal when there is one. Without a terminal
on stdin (a pipe, cron, CI) nobody can answer, so every approval is
rejected — deny by default — and stderr says which tool and why, so the
caller can add a permission rule instead of wondering; the exit code says
so too, so a script does not take the turn for done.

Exit codes: 0 the turn ran (rejections by the person at the terminal
included), 1 it failed (the model API), 3 an approval was rejected because
nobody was there to ask (stdin not a terminal), 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import sys

from bots.sdk import Facio
from channels.terminal.approval import ask_approval
from channels.terminal.chat import DEFAULT_SESSION
from channels.terminal.console import Console, LineReader
from channels.terminal.render import Renderer
from channels.terminal.turn import TurnRunner, play_turn, sigint_handler
from core.events import ApprovalRequest
from core.providers.errors import ProviderError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_NO_APPROVER", "EXIT_OK", "run_once"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_APPROVER = 3
"""An approval was rejected for want of a terminal to ask it on (2 is the CLI's config error)."""
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


async def run_once(
    facio: Facio,
    message: str,
    *,
    session_key: str = DEFAULT_SESSION,
    console: Console | None = None,
    interactive: bool | None = None,
) -> int:
    """Run ``message`` as one turn; the exit code. The caller closes ``facio``.

    ``interactive`` (default: stdin is a terminal) says whether approvals
    may be asked.
    """
    console = console or Console()
    if interactive is None:
        interactive = sys.stdin.isatty()
    reader = LineReader() if interactive else None
    agent = facio.agent(session_key)
    # With stdout redirected (`facio run … > answer.txt`) the prompt must still be seen.
    asker = console if console.is_terminal else Console(console.err, console.err)
    unasked: list[str] = []

    async def decide(request: ApprovalRequest) -> None:
        if reader is not None:
            await ask_approval(request, asker, reader, agent.permissions)
            return
        request.approve(False)
        unasked.append(request.tool_name)
        console.error(
            f"facio run: rejected {request.tool_name}: stdin is not a terminal, so there "
            "is nobody to ask for approval (allow the tool with a permission rule, "
            "or use `facio chat`)"
        )

    turns = TurnRunner()
    with sigint_handler(turns.interrupt):
        try:
            finished = await turns.run(play_turn(agent, message, Renderer(console), decide))
        except ProviderError as exc:
            console.error(f"facio run: error: {exc}")
            return EXIT_FAILED
    if not finished:
        console.error("facio run: cancelled")
        return EXIT_INTERRUPTED
    return EXIT_NO_APPROVER if unasked else EXIT_OK
