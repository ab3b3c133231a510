"""The ``facio`` command: one module per subcommand, each with
``add_parser(subparsers)`` registering itself and its handler.

Options follow the subcommand: ``facio chat --config PATH``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from core.errors import FacioError

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (
    "init_cmd",
    "up_cmd",
    "gateway_cmd",
    "worker_cmd",
    "chat_cmd",
    "run_cmd",
    "doctor_cmd",
    "schedules_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facio", description="Talk to a code-action AI agent, with approvals."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"facio.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except FacioError as exc:
        # The boundary where facio's own errors become a message and an exit code.
        print(f"facio: {exc}", file=sys.stderr)
        return 2
