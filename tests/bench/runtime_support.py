"""What the runtime benchmark drives: real ``facio`` processes, an API client, statistics.

The gateway and the workers are ``python -m facio gateway|worker`` processes
on a real ``redis-server`` over TCP loopback, as compose runs them; the
benchmark process is only their client. CPU time and RSS are read from
``/proc/<pid>`` (Linux).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

SCRIPT = {
    "rules": [
        # an approval: save_note is not allowed by any rule
        {
            "on": "user",
            "match": "^remember (?P<what>.+)",
            "text": "Saving.",
            "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<what>"}}],
        },
        {"on": "tool", "match": "(?s).*", "text": "Saved."},
        # load: the model takes 50 ms before it answers
        {"on": "user", "match": "^load", "text": "A fifty millisecond answer.", "delay": 0.05},
        # waiting turns: a slow model (the benchmark ends them by stopping the processes)
        {"on": "user", "match": "^slow", "text": "A slow answer.", "delay": 900},
    ],
    "fallback": "pong",
}


def write_config(folder: Path, redis_url: str, port: int, *, hold: float) -> Path:
    """A config on ``redis_url`` whose bot answers from :data:`SCRIPT`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    config = {
        "workspace": str(folder.parent / "workspace"),
        "redis": {"url": redis_url},
        "agent": {"model": "scripted:bench.json", "approvalHold": hold},
        "bots": {"main": {"model": "scripted:bench.json", "tools": ["save_note"]}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


# ---------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class FacioProcess:
    """``python -m <module> <args>`` (``facio`` unless said; ``arq`` for the baseline);
    its log goes to a file (a full pipe would stall it)."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        *,
        module: str = "facio",
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = list(args)
        self.log_path = log
        self.module = module
        self.env = env or {}
        self.process: asyncio.subprocess.Process | None = None
        self._log: TextIO | None = None

    async def start(self) -> FacioProcess:
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            *self.args,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        """Resident set size now (``/proc/<pid>/statm``)."""
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE

    def pause(self) -> None:
        """SIGSTOP: the process stays, does nothing (work queues up)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()


@contextlib.asynccontextmanager
async def running(
    args: Sequence[str], log: Path, *, module: str = "facio", env: dict[str, str] | None = None
) -> AsyncIterator[FacioProcess]:
    process = await FacioProcess(args, log, module=module, env=env).start()
    try:
        yield process
    finally:
        await process.stop()


async def wait_healthy(base_url: str, process: FacioProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            assert process.process is not None and process.process.returncode is None, (
                f"the gateway exited; log: {process.log_path.read_text()[-2000:]}"
            )
            with contextlib.suppress(aiohttp.ClientError):
                async with client.get(f"{base_url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not become healthy")


# ---------------------------------------------------------------- the API as a client


@dataclass(frozen=True)
class Seen:
    """An event as the SSE client received it."""

    received: float
    """``time.time()`` when the frame arrived here."""
    event: dict[str, Any]

    @property
    def stamped(self) -> float:
        """``time.time()`` in the worker when it published the event."""
        return float(self.event["ts"])


class Api:
    def __init__(self, client: aiohttp.ClientSession) -> None:
        self.client = client

    async def post(self, session: str, text: str) -> str:
        async with self.client.post(
            "/api/v1/messages", json={"session": session, "text": text}
        ) as response:
            assert response.status == 202, await response.text()
            body = await response.json()
            return str(body["turn_id"])

    async def decide(self, approval_id: str, decision: str = "approve") -> None:
        async with self.client.post(
            f"/api/v1/approvals/{approval_id}", json={"decision": decision}
        ) as response:
            assert response.status == 200, await response.text()

    @contextlib.asynccontextmanager
    async def events(self, session: str) -> AsyncIterator[EventStream]:
        """The session's SSE stream; connected (headers in) before it is yielded."""
        async with self.client.get(f"/api/v1/sessions/{session}/events") as response:
            assert response.status == 200, await response.text()
            yield EventStream(response)


class EventStream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def until(self, kind: str, timeout: float = 30) -> Seen:
        """Read frames until an event of type ``kind``."""
        async with asyncio.timeout(timeout):
            data = ""
            while True:
                line = (await self.response.content.readline()).decode()
                assert line, f"the stream ended before {kind}"
                if line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "\n" and data:
                    seen = Seen(time.time(), json.loads(data))
                    data = ""
                    if seen.event["type"] == kind:
                        return seen


async def turn_start(api: Api, n: int, tag: str) -> tuple[Stat, Stat]:
    """POST → ``turn_started``: (the worker's stamp, when the SSE client got it), one new
    session per probe, probes spread over arq's poll cycle."""
    stamped, received = [], []
    for i in range(n):
        session = f"api:start-{tag}-{i}"
        async with api.events(session) as stream:
            await asyncio.sleep(random.uniform(0, 0.05))
            start = time.time()
            await api.post(session, "ping")
            seen = await stream.until("turn_started", timeout=60)
            stamped.append(seen.stamped - start)
            received.append(seen.received - start)
            await stream.until("turn_finished", timeout=60)
    return stat(stamped), stat(received)


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Stat:
    median: float
    p99: float
    n: int


def stat(samples: Sequence[float]) -> Stat:
    """Median and nearest-rank 99th percentile."""
    ordered = sorted(samples)
    p99 = ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)]
    return Stat(statistics.median(ordered), p99, len(ordered))


def max_in_flight(spans: Sequence[tuple[float, float]]) -> int:
    """Most (start, end) spans open at one moment."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    open_now = peak = 0
    for _time, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak
