"""A gateway process whose one channel renders into a file: for tests that SIGKILL it.

The registry only knows real platforms, so this runs
:class:`channels.gateway.Gateway` with a :class:`FileChannel` passed through
its ``channels=`` factory (no monkeypatching). Every rendered event becomes one
JSON line in ``--out``, written after the render completed; an event whose
``content`` contains ``--hang-on`` first writes a ``{"hanging": …}`` line and
then never completes — the gateway stays mid-render until it is killed::

    python -m tests.fakes.gateway_runner --config config.json --out rendered.jsonl \\
        [--port N] [--hang-on TEXT] [--lease-ttl 2]

``--port`` (default 0, a free one) also names the gateway in the outbox's
consumer group: started again on the same port it is the same consumer
(:func:`channels.gateway.consumer_name`), on port 0 a new one.
``--lease-ttl`` goes to the outbox consumer through ``Gateway(outbox_timings=…)``:
how long this gateway's outbox partitions outlive it when it is killed
(production: 9 s). SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from channels.base import Channel
from channels.context import GatewayContext
from channels.gateway import Gateway
from channels.outbox_consumer import OutboxTimings
from core.config import load_config
from core.wire import WireEvent

CHANNEL = "file"


class FileChannel:
    """Renders each event as one JSON line appended to ``out``."""

    name = CHANNEL

    def __init__(self, out: Path, *, hang_on: str = "") -> None:
        self.out = out
        self.hang_on = hang_on

    def routes(self, app: web.Application) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _write(self, line: dict[str, object]) -> None:
        with self.out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    async def render(self, event: WireEvent) -> None:
        content = str(getattr(event, "content", ""))
        line: dict[str, object] = {
            "type": event.type,
            "session_key": event.session_key,
            "turn_id": event.turn_id,
            "idempotency_key": event.idempotency_key,
            "content": content,
            "pid": os.getpid(),
        }
        if self.hang_on and self.hang_on in content:
            self._write({"hanging": line})
            await asyncio.Event().wait()  # mid-render until SIGKILL
        self._write(line)

    async def health(self) -> str:
        return "ok"


async def serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    channel = FileChannel(Path(args.out), hang_on=args.hang_on)

    def channels(ctx: GatewayContext) -> list[Channel]:
        return [channel]

    timings = OutboxTimings(lease_ttl=args.lease_ttl)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Gateway(
        config,
        config.redis.url,
        host="127.0.0.1",
        port=args.port,
        channels=channels,
        outbox_timings=timings,
    ) as gateway:
        print(f"gateway_runner: listening on {gateway.url}", file=sys.stderr, flush=True)
        await stop.wait()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hang-on", default="")
    defaults = OutboxTimings()
    parser.add_argument("--lease-ttl", type=float, default=defaults.lease_ttl)
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
