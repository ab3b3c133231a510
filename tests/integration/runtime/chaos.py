"""The people and the processes of the chaos soak (``test_chaos_soak.py``).

- :class:`Cluster` — the ``facio gateway`` processes (one config and port each;
  a gateway started again on its port is the same gateway) and the
  ``facio worker`` processes, killed and started again by the test.
- :class:`SseClient` — one person's ``GET /api/v1/sessions/{key}/events``: when
  the stream ends (its gateway died, Redis went away) it connects again, to its
  own gateway if that one answers, else to the other, with ``Last-Event-ID``;
  it keeps every frame it got, and the port of every connection.
- :class:`ApiUser` — ``POST /api/v1/messages`` with an ``Idempotency-Key`` and
  ``POST /api/v1/approvals/{id}``, sent to the gateways in turn (a load
  balancer) and retried on the other one until a gateway answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from redis.exceptions import RedisError

from tests.integration.runtime.processes import TOKEN, Process, Processes

__all__ = ["HEADERS", "ApiUser", "Cluster", "Decided", "SseClient", "until"]

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
RETRY = 0.2
"""Seconds a client waits before it tries again (another gateway, or the same one)."""

T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T]], what: str, timeout: float) -> T:
    """Poll ``check`` until it returns something truthy; a Redis error (Redis is
    restarting) counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await check()
        except (RedisError, OSError):
            value = None  # type: ignore[assignment]
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.05)


class Cluster:
    """The gateways (by port) and the workers of the soak."""

    def __init__(self, procs: Processes, configs: dict[int, Path]) -> None:
        self.procs = procs
        self.configs = configs
        self.gateways: dict[int, Process] = {}
        self.workers: list[Process] = []
        self._names = itertools.count(1)

    @property
    def ports(self) -> list[int]:
        return list(self.configs)

    def start_gateway(self, port: int) -> Process:
        name = f"gateway-{port}-{next(self._names)}"
        self.gateways[port] = self.procs.facio("gateway", self.configs[port], name)
        return self.gateways[port]

    def start_worker(self) -> Process:
        config = self.configs[self.ports[0]]
        worker = self.procs.worker(config, f"worker-{next(self._names)}")
        self.workers.append(worker)
        return worker

    def alive_ports(self) -> list[int]:
        return [port for port, gateway in self.gateways.items() if gateway.alive]

    def live_workers(self) -> list[Process]:
        return [w for w in self.workers if w.alive]

    async def serving(self, http: aiohttp.ClientSession, port: int) -> bool:
        """Does the gateway on ``port`` answer ``/healthz``?"""
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False


class SseClient:
    """A person reading one API session's events, reconnecting with ``Last-Event-ID``.

    ``frames`` holds ``(entry id, event)`` of every frame received, in order;
    ``connections`` the port and time (``time.monotonic``) of every connection made.
    """

    def __init__(
        self, http: aiohttp.ClientSession, cluster: Cluster, session: str, prefer: int
    ) -> None:
        self.http = http
        self.cluster = cluster
        self.session = session
        self.prefer = prefer
        self.frames: list[tuple[str, dict[str, Any]]] = []
        self.connections: list[tuple[int, float]] = []
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Read until cancelled; a stream that ends is opened again at once."""
        while True:
            ports = sorted(self.cluster.alive_ports(), key=lambda port: port != self.prefer)
            for port in ports:
                with contextlib.suppress(aiohttp.ClientError, ConnectionError, TimeoutError):
                    await self._read(port)
            await asyncio.sleep(RETRY)

    async def _read(self, port: int) -> None:
        headers = dict(HEADERS)
        if self.frames:
            headers["Last-Event-ID"] = self.frames[-1][0]
        elif self.connections:  # connected before, got nothing: the session's whole stream
            headers["Last-Event-ID"] = "0"
        url = f"http://127.0.0.1:{port}/api/v1/sessions/{self.session}/events"
        async with self.http.get(url, headers=headers) as response:
            if response.status != 200:
                return
            self.connections.append((port, time.monotonic()))
            self.connected.set()
            fields: dict[str, str] = {}
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                    continue
                if "id" in fields and "data" in fields:
                    self.frames.append((fields["id"], json.loads(fields["data"])))
                fields = {}

    def events(self) -> list[dict[str, Any]]:
        """What the person is shown: a final event once (by ``idempotency_key``), however
        often a retried turn published it."""
        seen: set[str] = set()
        shown = []
        for _id, event in self.frames:
            key = event.get("idempotency_key")
            if key in seen:
                continue
            if key:
                seen.add(key)
            shown.append(event)
        return shown

    def count(self, kind: str) -> int:
        return sum(event["type"] == kind for event in self.events())


@dataclass(frozen=True)
class Decided:
    """One approval decision as the operator made it: through which gateway, when."""

    approval_id: str
    port: int
    at: float


class ApiUser:
    """An HTTP API client that sends to the gateways in turn, retrying on the other."""

    def __init__(self, http: aiohttp.ClientSession, cluster: Cluster) -> None:
        self.http = http
        self.cluster = cluster
        self.retries = 0
        self.decided: list[Decided] = []
        self._messages = itertools.count()
        self._decisions = itertools.count()

    async def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], first: int
    ) -> tuple[int, int]:
        """POST until a gateway answers anything but a 5xx, trying gateway ``first`` (of
        the list) first, then the next: ``(status, port)``."""
        ports = self.cluster.ports
        order = [ports[(first + i) % len(ports)] for i in range(len(ports))]
        while True:
            for port in order:
                try:
                    url = f"http://127.0.0.1:{port}{path}"
                    async with self.http.post(url, json=body, headers=headers) as response:
                        await response.read()
                        if response.status < 500:
                            return response.status, port
                except (aiohttp.ClientError, ConnectionError, TimeoutError):
                    pass
                self.retries += 1
            await asyncio.sleep(RETRY)

    async def say(self, session: str, message: str, key: str) -> None:
        """Queue ``message`` once, whatever retries it takes (``Idempotency-Key``)."""
        headers = {**HEADERS, "Idempotency-Key": key}
        body = {"session": session, "text": message, "user": "soak"}
        status, _port = await self._post("/api/v1/messages", body, headers, next(self._messages))
        assert status in (200, 202), status  # 200: a retry of one that got through

    async def approve(self, approval_id: str) -> None:
        """Approve as the operator; 409 is a retry of a decision that got through."""
        body = {"decision": "approve"}
        path = f"/api/v1/approvals/{approval_id}"
        status, port = await self._post(path, body, dict(HEADERS), next(self._decisions))
        assert status in (200, 409), status
        self.decided.append(Decided(approval_id, port, time.monotonic()))
