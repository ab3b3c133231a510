"""``facio gateway``: the chat channels, the HTTP API, health and metrics.

A separate gateway process needs ``redis.url``: the embedded Redis belongs to
``facio up`` alone (docs/design.md). SIGTERM and SIGINT stop it cleanly
(exit 0). ``--port`` (here and on ``facio up``) overrides ``gateway.port``
without editing the config; a port that cannot be listened on is a
:class:`channels.gateway.GatewayBindError`, one line at the CLI's boundary.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from redis.exceptions import RedisError

from channels.gateway import Gateway
from core.config import FacioConfig, load_config
from core.errors import ConfigError
from facio.cli.gc_pace import pace_gc
from facio.cli.shutdown import StopSignals

__all__ = ["add_parser", "add_port_option", "require_redis_url", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register the ``gateway`` subcommand; its handler is ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gateway",
        help="run the gateway: chat channels, HTTP API, health and metrics",
        description="Connect the enabled chat channels and serve the HTTP API, /healthz and "
        "/metrics on gateway.host:gateway.port until SIGTERM or Ctrl-C. Needs redis.url "
        "(the embedded Redis is `facio up`'s).",
    )
    parser.add_argument("--config", metavar="PATH", help="config.json to use")
    add_port_option(parser)
    parser.set_defaults(handler=run)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port from 1 to 65535, got {text!r}")
    return port


def add_port_option(parser: argparse.ArgumentParser) -> None:
    """``--port N``: listen there instead of ``gateway.port`` (the config file is untouched)."""
    parser.add_argument(
        "--port",
        metavar="N",
        type=_port,
        help="HTTP port of the gateway (default: gateway.port of the config, 8765 if unset)",
    )


def require_redis_url(config: FacioConfig, command: str) -> str:
    """``redis.url``, or a ConfigError saying why a separate process needs one."""
    if not config.redis.url:
        raise ConfigError(
            f"`facio {command}` runs as its own process and needs a shared Redis: set "
            'redis.url (e.g. "redis://127.0.0.1:6379/0"), or use `facio up`, which starts '
            "an embedded Redis with a gateway and a worker",
            path="redis.url",
            source=str(config.config_path or ""),
        )
    return config.redis.url


async def serve(config: FacioConfig, redis_url: str, port: int | None = None) -> int:
    """Run the gateway until SIGTERM/SIGINT; 0 when it stopped cleanly.

    ``port`` overrides ``gateway.port``.
    """
    signals = StopSignals("gateway")
    signals.install()
    stop = signals.stop
    try:
        async with Gateway(config, redis_url, port=port) as gateway:
            print(f"facio gateway: listening on {gateway.url}", file=sys.stderr, flush=True)
            await stop.wait()
    except (RedisError, OSError) as exc:
        print(f"facio gateway: cannot start: {exc}", file=sys.stderr)
        return 1
    finally:
        signals.remove()
    print("facio gateway: stopped", file=sys.stderr, flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    """Load the config and serve."""
    config = load_config(args.config)
    pace_gc()
    return asyncio.run(serve(config, require_redis_url(config, "gateway"), args.port))
