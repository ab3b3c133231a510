"""``facio run "message"``: one turn, streamed to stdout, then exit."""

from __future__ import annotations

import argparse
from typing import Any

from channels.terminal import run_once
from facio.cli.common import add_bot_options, with_facio

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``run`` subcommand; its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="send one message and print the answer",
        description="Send one message, stream the answer to stdout and exit: 0 when the "
        "turn ran, 1 when it failed, 3 when an approval was rejected because stdin is not "
        "a terminal (approvals are asked when it is), 130 on Ctrl-C.",
    )
    parser.add_argument("message", help="what to say to the bot")
    add_bot_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run one turn for the message."""
    return with_facio(args, lambda facio: run_once(facio, args.message, session_key=args.session))
