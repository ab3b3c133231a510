"""``facio init [DIR] [--force]``: write a starter config that runs offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.config.starter import write_starter
from core.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``init`` subcommand; its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "init",
        help="write a starter config.json and workspace",
        description="Write DIR/config.json (a commented starter that runs offline) "
        "and create DIR/workspace/.",
    )
    parser.add_argument(
        "directory",
        metavar="DIR",
        nargs="?",
        default=".",
        type=Path,
        help="folder for config.json (default: the current folder)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing config.json")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the starter; print where it went and what to do next."""
    try:
        path = write_starter(args.directory, force=args.force)
    except ConfigError as exc:
        print(f"facio init: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} (mode 0600: it holds the gateway API token)")
    print(f"created {path.parent / 'workspace'}")
    print("next: `facio chat` to talk to the offline demo bot; edit config.json for a real model")
    return 0
