"""What the terminal subcommands (``chat``, ``run``) share: options and the run wrapper."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from bots.sdk import Facio
from channels.terminal import DEFAULT_SESSION
from channels.terminal.oneshot import EXIT_INTERRUPTED

__all__ = ["add_bot_options", "with_facio"]


def add_bot_options(parser: argparse.ArgumentParser) -> None:
    """``--session``, ``--config`` and ``--workspace``."""
    parser.add_argument(
        "--session",
        metavar="KEY",
        default=DEFAULT_SESSION,
        help=f"session key; the history is kept per key (default: {DEFAULT_SESSION})",
    )
    parser.add_argument("--config", metavar="PATH", help="config.json to use")
    parser.add_argument("--workspace", metavar="DIR", help="override the workspace folder")


def with_facio(args: argparse.Namespace, body: Callable[[Facio], Awaitable[int]]) -> int:
    """Build the Facio from the options, run ``body`` with it, close it; the exit code.

    A Ctrl-C that arrives before the terminal channel routes SIGINT itself
    (while loading, or while closing) still ends with 130 and no traceback.
    """

    async def main() -> int:
        facio = Facio.from_config(args.config, workspace=args.workspace)
        async with facio:
            return await body(facio)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
