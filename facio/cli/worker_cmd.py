"""``facio worker``: an arq worker that runs the agent's turns (``drain_session`` jobs).

Needs ``redis.url``, like ``facio gateway``. Run as many as you like. The
worker is built inside the running event loop, so arq's own signal handlers
land on that loop: on SIGTERM or SIGINT it stops taking jobs, gives running
turns ``SHUTDOWN_GRACE`` seconds, then cancels them — a cancelled turn is
picked up again by another worker (docs/runtime.md, crash recovery) — and
exits 0. ``--burst`` processes what is queued and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from redis.exceptions import RedisError

from bots.toolbox import check_bots
from core.config import FacioConfig, load_config
from facio.cli.gateway_cmd import require_redis_url
from facio.cli.gc_pace import pace_gc
from workers.worker import build_worker, connect

__all__ = ["add_parser", "run", "work"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``worker`` subcommand; its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "worker",
        help="run a worker: the agent's turns, from the Redis queue",
        description="Run queued turns until SIGTERM or Ctrl-C (running turns get a grace "
        "period, then continue on another worker). Needs redis.url.",
    )
    parser.add_argument("--config", metavar="PATH", help="config.json to use")
    parser.add_argument("--burst", action="store_true", help="process the queued turns, then exit")
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=None,
        metavar="N",
        help="sessions run at once (default: worker.maxJobs, 1000)",
    )
    parser.set_defaults(handler=run)
    return parser


async def work(
    config: FacioConfig, redis_url: str, *, burst: bool, max_jobs: int | None = None
) -> int:
    """Run one worker until the queue is empty (burst) or a signal stops it."""
    try:
        pool = await connect(redis_url)
    except (RedisError, OSError) as exc:
        print(f"facio worker: cannot connect to Redis: {exc}", file=sys.stderr)
        return 1
    worker = build_worker(config, pool, burst=burst, max_jobs=max_jobs)
    try:
        # async_run sets arq's main_task, the task its signal handlers cancel.
        await worker.async_run()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # cancelled from outside, not stopped by a signal
    finally:
        await worker.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """Load the config and work."""
    config = load_config(args.config)
    url = require_redis_url(config, "worker")
    check_bots(config)  # the bots' tools (the user's imported) before taking jobs
    pace_gc()
    return asyncio.run(work(config, url, burst=args.burst, max_jobs=args.max_jobs))
