"""``facio chat``: a terminal conversation with one bot on one session.

The loop reads a line, runs it as a turn (streamed, approvals asked in
place) and reads the next. Ctrl-C cancels the running turn, or at the idle
prompt says how to quit; Ctrl-D or ``/exit`` ends the chat. A turn that
fails (the model API is down, …) is reported and the chat goes on: the
history keeps everything saved before the failure.
"""

from __future__ import annotations

import logging

from bots.sdk import Facio
from channels.terminal.approval import ask_approval
from channels.terminal.console import Console, LineReader
from channels.terminal.render import Renderer
from channels.terminal.turn import TurnRunner, play_turn, sigint_handler
from core.agent import Agent
from core.errors import FacioError
from core.events import ApprovalRequest

__all__ = ["DEFAULT_SESSION", "PROMPT", "TerminalChat", "run_chat"]

log = logging.getLogger(__name__)

DEFAULT_SESSION = "cli:default"
PROMPT = "you> "
QUIT_HINT = "(/exit or Ctrl-D to quit)"
HELP = """\
commands:
  /new          start over: forget this session's history
  /help         show this help
  /exit, /quit  leave (Ctrl-D too)
approvals: Enter or y approves once, n rejects, a always allows the tool,
           s allows it for the rest of this chat
Ctrl-C stops the answer being written (or the approval being asked)."""


class TerminalChat:
    """The chat loop on a console; one agent at a time on ``session_key``."""

    def __init__(
        self,
        facio: Facio,
        *,
        session_key: str = DEFAULT_SESSION,
        console: Console | None = None,
        reader: LineReader | None = None,
    ) -> None:
        self.facio = facio
        self.session_key = session_key
        self.console = console or Console()
        self.reader = reader or LineReader()
        self.agent: Agent = facio.agent(session_key)
        self.turns = TurnRunner()
        self._asking: ApprovalRequest | None = None

    async def run(self) -> int:
        """Chat until the person leaves; the exit code (0)."""
        await self.agent.start()
        self.console.line(
            f"facio chat - session {self.session_key}, model {self.facio.spec.model}. "
            "/help for commands, Ctrl-D to quit.",
            dim=True,
        )
        with sigint_handler(self._on_sigint):
            while True:
                self.console.write(PROMPT)
                line = await self.reader.read_line()
                if line is None:
                    self.console.end_line()
                    return 0
                self.console.typed_line(self.reader)
                text = line.strip()
                if not text:
                    continue
                if text.startswith("/"):
                    if not await self._command(text):
                        return 0
                    continue
                await self._turn(text)

    def _on_sigint(self) -> None:
        if self.turns.interrupt():
            return
        self.console.line(QUIT_HINT)
        self.console.write(PROMPT)

    async def _command(self, text: str) -> bool:
        """Run a chat command; False when the chat should end."""
        name = text.split()[0].lower()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            self.console.line(HELP)
        elif name == "/new":
            await self.facio.reset_session(self.session_key)
            self.agent = self.facio.agent(self.session_key)
            await self.agent.start()
            self.console.line(
                f"new conversation: {self.session_key} starts over "
                "(history and allow-for-session rules cleared)"
            )
        else:
            self.console.line(f"unknown command {name}; /help lists the commands")
        return True

    async def _decide(self, request: ApprovalRequest) -> None:
        self._asking = request
        await ask_approval(request, self.console, self.reader, self.agent.permissions)
        self._asking = None

    async def _turn(self, text: str) -> None:
        self._asking = None
        renderer = Renderer(self.console)
        try:
            finished = await self.turns.run(play_turn(self.agent, text, renderer, self._decide))
        except FacioError as exc:  # the model API, the session store, …: report, keep chatting
            self.console.error(f"error: {exc}")
            return
        except Exception:  # the loop boundary: a bug in one turn must not end the chat
            log.exception("the turn failed")
            self.console.error("error: the turn failed unexpectedly (details above)")
            return
        if not finished:
            self._cancelled()

    def _cancelled(self) -> None:
        self.console.end_line()
        if self._asking is not None and self._asking.decision is False:
            # asked by running code: stopping the code rejected it
            self.console.line(f"cancelled: {self._asking.tool_name} was rejected with the code")
        elif self._asking is not None:
            self.console.line(
                f"cancelled: {self._asking.tool_name} was neither approved nor rejected; "
                "your next message moves on without it"
            )
        else:
            self.console.line("cancelled")
        self._asking = None


async def run_chat(
    facio: Facio,
    *,
    session_key: str = DEFAULT_SESSION,
    console: Console | None = None,
    reader: LineReader | None = None,
) -> int:
    """Chat on the terminal with ``facio``'s bot; the exit code. The caller closes ``facio``."""
    chat = TerminalChat(facio, session_key=session_key, console=console, reader=reader)
    return await chat.run()
