"""``facio chat [--session KEY]``: talk to the bot in the terminal, approvals as a prompt."""

from __future__ import annotations

import argparse
from typing import Any

from channels.terminal import run_chat
from facio.cli.common import add_bot_options, with_facio

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``chat`` subcommand; its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chat",
        help="chat with the bot in this terminal",
        description="Chat with the bot in this terminal. Tool calls that need consent "
        "are asked as a prompt. /help lists the chat commands; Ctrl-C stops an answer, "
        "Ctrl-D quits.",
    )
    add_bot_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Chat until the person leaves."""
    return with_facio(args, lambda facio: run_chat(facio, session_key=args.session))
