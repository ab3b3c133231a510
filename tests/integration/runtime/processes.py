"""Real processes for the crash tests: ``facio worker``s and a test gateway to SIGKILL.

The crash tests (``test_crash_*.py``, ``test_soak.py``) run the real program —
``python -m facio worker --config …``, ``facio gateway`` — against a Redis of
their own, and look at what happened from outside: in Redis (the session
history, the turn hashes, the outbox), over the gateway's HTTP API, or in the
file the test gateway (:mod:`tests.fakes.gateway_runner`) renders into.
:class:`Processes` starts them (each writing a log file the assertion
messages quote), kills exactly the ones it started, and stops the rest when
the test ends.

Which worker holds a session is read from the session's lease
(``<host>:<pid>:<random>:<job id>``), so a test kills the holder and only it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from redis.asyncio import Redis

from core.messages import Message, message_from_json
from core.tools.builtin.notes import notes_file
from tests.integration.runtime.support import entry_order, published
from workers import keys
from workers.codec import text

ROOT = Path(__file__).resolve().parents[3]
LOG_TAIL = 4000
TOKEN = "crash-test-token"
"""The API token of the configs :func:`write_config` writes."""
RECOVERY_BOUND = 30.0
"""DESIGN.md: a dead worker's session is picked up by another within 30 seconds."""

T = TypeVar("T")


class Process:
    """One child process, its output in ``log``."""

    def __init__(self, name: str, args: Sequence[str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-LOG_TAIL:]
        except OSError:
            return ""

    def kill(self) -> float:
        """SIGKILL, and reap it; the time of the kill (``time.monotonic``)."""
        self.popen.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        self.popen.wait(10)
        return killed

    def pause(self) -> None:
        """SIGSTOP: it keeps everything it holds and does nothing (a long GC, a VM migration)."""
        self.popen.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.popen.send_signal(signal.SIGCONT)

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.alive:
            self.popen.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
            self.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.alive and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if self.alive:
                self.popen.kill()
        return self.popen.wait(10)


class Processes:
    """The processes of one test; whatever is still running at the end is stopped."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[Process] = []

    def worker(self, config: Path, name: str) -> Process:
        """``facio worker --config config``."""
        return self.facio("worker", config, name)

    def facio(self, command: str, config: Path, name: str) -> Process:
        """``facio <command> --config config`` (``worker``, ``gateway``)."""
        return self._start(name, ["-m", "facio", command, "--config", str(config)])

    def gateway(self, config: Path, name: str, out: Path, **options: object) -> Process:
        """The test gateway (:mod:`tests.fakes.gateway_runner`) rendering into ``out``."""
        args = ["-m", "tests.fakes.gateway_runner", "--config", str(config), "--out", str(out)]
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}", str(value)]
        return self._start(name, args)

    def _start(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, self.folder / f"{name}.log")
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}):\n{p.tail()}" for p in self.started)

    async def __aenter__(self) -> Processes:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for process in self.started:
            if process.alive:
                process.popen.kill()
                process.popen.wait(10)


def write_config(
    folder: Path,
    redis_url: str,
    rules: list[dict[str, Any]],
    *,
    name: str = "config.json",
    allow: Sequence[str] = (),
    gateway_port: int | None = None,
    **agent: Any,
) -> Path:
    """A config on ``redis_url`` whose bot is a scripted model following ``rules``.

    ``gateway_port`` is where ``facio gateway`` listens, with the API token
    :data:`TOKEN`; ``agent`` holds ``agent`` settings (``approvalHold=0``).
    """
    script = {"rules": rules, "fallback": "no rule for that", "chunkSize": 64}
    script_name = name.replace(".json", "-script.json")
    (folder / script_name).write_text(json.dumps(script))
    model = f"scripted:{script_name}"
    data: dict[str, Any] = {
        "workspace": "ws",
        "redis": {"url": redis_url},
        "agent": {"model": model, **agent},
        "bots": {"main": {"model": model, "tools": ["save_note", "list_notes"], "allow": allow}},
    }
    if gateway_port:
        data["gateway"] = {"host": "127.0.0.1", "port": gateway_port, "apiToken": TOKEN}
    path = folder / name
    path.write_text(json.dumps(data))
    return path


SAVE_RULES: list[dict[str, Any]] = [
    {
        "on": "user",
        "match": "(?i)^save (?P<what>.+)",
        "text": "Saving \\g<what>.",
        "toolCalls": [{"name": "save_note", "arguments": {"text": "\\g<what>"}}],
    },
    {"on": "tool", "match": "(?s)(?P<said>.*)", "text": "Tool said: \\g<said>"},
    {"on": "user", "match": "(?s)(?P<said>.*)", "text": "You said: \\g<said>"},
]
"""``save X`` calls save_note; any other message is echoed."""


def notes(workspace: Path, session: str) -> Path:
    return notes_file(workspace, session)


async def until(
    check: Callable[[], Awaitable[T]],
    what: str,
    timeout: float,
    processes: Processes | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = processes.logs() if processes is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{logs}")
        await asyncio.sleep(0.05)


async def serving(port: int, procs: Processes, timeout: float = 30.0) -> None:
    """Wait until the ``facio gateway`` on ``port`` answers ``/healthz`` with 200."""

    async def healthy() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    await until(healthy, "the gateway to answer", timeout, procs)


async def history(redis: Redis, session: str) -> list[Message]:
    return [message_from_json(m) for m in await redis.lrange(keys.history(session), 0, -1)]


async def turn_state(redis: Redis, turn_id: str) -> dict[str, str]:
    raw = await redis.hgetall(keys.turn(turn_id))  # type: ignore[misc]
    return {text(k): text(v) for k, v in raw.items()}


async def lease_pid(redis: Redis, session: str) -> int | None:
    """The pid of the worker holding ``session``'s lease, if one does."""
    holder = await redis.get(keys.lease(session))
    return int(text(holder).split(":")[1]) if holder is not None else None


async def outbox_events(redis: Redis) -> list[dict[str, Any]]:
    """Every event published, in order (retries included)."""
    return [event for _id, event in await published(redis)]


async def rendered(redis: Redis, consumer: str = "test") -> list[dict[str, Any]]:
    """What a person sees of the events so far: a final event once, however often a
    retried turn published it (what the gateway's and SSE clients' dedupe by
    ``idempotency_key`` leaves); call it again for what was published since."""
    cursor = f"test:rendered:{consumer}"
    seen = f"test:delivered:{consumer}"
    after = text(await redis.get(cursor) or b"0-0")
    shown: list[dict[str, Any]] = []
    last = after
    for entry_id, event in await published(redis):
        if entry_order(entry_id) <= entry_order(after):
            continue
        last = entry_id
        key = event.get("idempotency_key")
        if key and not await redis.sadd(seen, key):  # type: ignore[misc]
            continue
        shown.append(event)
    await redis.set(cursor, last)
    return shown


def finals(events: Sequence[dict[str, Any]], session: str) -> list[tuple[str, str]]:
    """``(type, content)`` of a session's final events, chunks left out, in order."""
    return [
        (e["type"], str(e.get("content", "")))
        for e in events
        if e["session_key"] == session and not e["type"].endswith("_chunk")
    ]
