"""``facio schedules list``: the schedules in Redis, soonest first.

Reads the Redis of ``redis.url``, else the embedded one of a running
``facio up`` (its unix socket in the workspace, ``.facio/redis/redis.sock``),
and says so when neither answers. ``--json`` prints what
``GET /api/v1/schedules`` answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.config import FacioConfig, load_config
from facio.cli.up_cmd import REDIS_DIR
from workers.redis_server import display_url
from workers.schedules import Scheduled, ScheduleStore, clock_from_env
from workers.schedules.chat import PROMPT_CHARS
from workers.schedules.expressions import format_time

__all__ = ["add_parser", "run"]

EXIT_NO_REDIS = 1


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register ``schedules`` (subcommand ``list``); its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schedules",
        help="show scheduled turns (config cron jobs, reminders)",
        description="Show the schedules stored in Redis (redis.url, or a running `facio up`).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list every schedule, soonest first")
    listing.add_argument("--config", metavar="PATH", help="config.json to use")
    listing.add_argument("--workspace", metavar="DIR", help="override the workspace folder")
    listing.add_argument("--session", metavar="KEY", help="only this session's schedules")
    listing.add_argument("--json", action="store_true", help="print JSON, as the HTTP API does")
    listing.set_defaults(handler=run)
    return parser


def embedded_socket(config: FacioConfig) -> Path:
    """Where ``facio up`` puts its embedded Redis's unix socket."""
    return config.workspace / REDIS_DIR / "redis.sock"


def _url(config: FacioConfig) -> str | None:
    if config.redis.url:
        return config.redis.url
    socket = embedded_socket(config)
    return f"unix://{quote(str(socket))}" if socket.exists() else None


def _table(found: list[Scheduled]) -> str:
    rows = [("ID", "NEXT RUN", "WHEN", "SESSION", "SOURCE", "PROMPT")]
    for item in found:
        record = item.record
        prompt = " ".join(record.prompt.split())
        if len(prompt) > PROMPT_CHARS:
            prompt = prompt[: PROMPT_CHARS - 1] + "…"
        source = f"{record.source}:{record.name}" if record.name else record.source
        rows.append(
            (
                record.schedule_id,
                format_time(item.next_run, record.timing.timezone),
                record.timing.describe(),
                record.session_key,
                f"{source} ({record.created_by})",
                prompt,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[-1]
        for row in rows
    )


async def show(config: FacioConfig, *, session: str | None, as_json: bool) -> int:
    url = _url(config)
    if url is None:
        print(
            "facio schedules: no Redis is running: start `facio up` (its embedded Redis "
            f"listens on {embedded_socket(config)}) or set redis.url",
            file=sys.stderr,
        )
        return EXIT_NO_REDIS
    redis = Redis.from_url(url)
    try:
        store = ScheduleStore(redis, config, clock=clock_from_env())
        found = await store.list(session)
    except (RedisError, OSError) as exc:
        print(
            f"facio schedules: cannot reach Redis at {display_url(url)} ({exc}); is `facio up` "
            "or your Redis running?",
            file=sys.stderr,
        )
        return EXIT_NO_REDIS
    finally:
        await redis.aclose()
    if as_json:
        print(json.dumps({"schedules": [i.record.public(i.next_run) for i in found]}, indent=2))
    elif not found:
        print("No schedules.")
    else:
        print(_table(found))
    return 0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, workspace=args.workspace)
    return asyncio.run(show(config, session=args.session, as_json=args.json))
