"""The terminal channel: ``facio chat`` and ``facio run`` on the local console.

    console.py   stdin lines for the event loop (a reader thread), stdout writes
    render.py    agent events as text: streamed answer, dimmed thoughts, tool lines
    approval.py  the approval prompt (approve once / reject / always / session)
    turn.py      one turn as a cancellable task; SIGINT routed to it
    chat.py      the chat loop and its /commands
    oneshot.py   one message, one turn, an exit code

Both take a ready :class:`bots.sdk.Facio` (the caller owns and closes it), so
they run the same agent, tools and permission rules as the SDK.
"""

from channels.terminal.approval import Choice, ask_approval, format_request, parse_choice
from channels.terminal.chat import DEFAULT_SESSION, TerminalChat, run_chat
from channels.terminal.console import Console, LineReader, color_enabled
from channels.terminal.oneshot import run_once
from channels.terminal.render import Renderer
from channels.terminal.turn import TurnRunner, play_turn, sigint_handler

__all__ = [
    "DEFAULT_SESSION",
    "Choice",
    "Console",
    "LineReader",
    "Renderer",
    "TerminalChat",
    "TurnRunner",
    "ask_approval",
    "color_enabled",
    "format_request",
    "parse_choice",
    "play_turn",
    "run_chat",
    "run_once",
    "sigint_handler",
]
