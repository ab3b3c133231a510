"""Helpers of the chaos soak (``test_chaos_soak.py``): clients that live through gateway
deaths, and what the test reads in Redis to time a takeover.

- :class:`Cluster` — the ``facio gateway`` processes (one config and port each; a
  gateway started again on its port is the same consumer) and the
  ``facio worker`` processes, killed and started again by the test.
- :class:`SseClient` — one person's ``GET /api/v1/sessions/{key}/events``: when the
  stream ends (its gateway died, Redis went away) it connects again, to whichever
  gateway answers, with ``Last-Event-ID``; it keeps every frame it got.
- :class:`ApiUser` — ``POST /api/v1/messages`` with an ``Idempotency-Key`` and
  ``POST /api/v1/approvals/{id}``, retried on another gateway (a load balancer's
  client) until one answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from tests.fakes.telegram_server import FakeTelegram
from tests.integration.runtime.processes import TOKEN, Process, Processes
from workers import keys
from workers.codec import text

__all__ = [
    "ApiUser",
    "Cluster",
    "SseClient",
    "partition_holders",
    "poller_holder",
    "soak_config",
]

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
RETRY = 0.2
"""Seconds a client waits before trying again (another gateway, or the same one)."""


def soak_config(
    folder: Path,
    redis_url: str,
    tg: FakeTelegram,
    rules: list[dict[str, Any]],
    *,
    port: int,
    allow_from: list[str],
    approval_hold: float,
) -> Path:
    """One gateway's config (its port) on the shared Redis; workers use any of them."""
    script = folder / "soak-script.json"
    script.write_text(json.dumps({"rules": rules, "fallback": "no rule", "chunkSize": 64}))
    model = f"scripted:{script.name}"
    data = {
        "workspace": "ws",
        "redis": {"url": redis_url},
        "agent": {"model": model, "approvalHold": approval_hold},
        "bots": {"main": {"model": model, "tools": ["save_note", "list_notes"]}},
        "channels": {
            "telegram": {
                "enabled": True,
                "token": tg.token,
                "apiBase": tg.url,
                "allowFrom": allow_from,
                "streamInterval": 0.2,
            }
        },
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": TOKEN},
    }
    path = folder / f"gateway-{port}.json"
    path.write_text(json.dumps(data))
    return path


class Cluster:
    """The gateways (by port) and workers of the soak, started and killed by the test."""

    def __init__(self, procs: Processes, configs: dict[int, Path]) -> None:
        self.procs = procs
        self.configs = configs
        self.gateways: dict[int, Process] = {}
        self.workers: list[Process] = []
        self._started: dict[str, int] = {}

    def _name(self, kind: str) -> str:
        self._started[kind] = self._started.get(kind, 0) + 1
        return f"{kind}-{self._started[kind]}"

    def start_gateway(self, port: int) -> Process:
        gateway = self.procs.facio("gateway", self.configs[port], self._name(f"gateway-{port}"))
        self.gateways[port] = gateway
        return gateway

    def start_worker(self) -> Process:
        config = next(iter(self.configs.values()))
        worker = self.procs.worker(config, self._name("worker"))
        self.workers.append(worker)
        return worker

    def alive_ports(self) -> list[int]:
        return [port for port, gateway in self.gateways.items() if gateway.alive]

    @staticmethod
    def consumer(port: int) -> str:
        """The gateway's name among live gateways (channels.gateway.consumer_name)."""
        return f"gateway:{socket.gethostname()}:127.0.0.1:{port}"


async def partition_holders(redis: Redis) -> list[str]:
    """Which gateway holds each outbox partition's lease ("" for none)."""
    async with redis.pipeline(transaction=False) as pipe:
        for p in range(keys.OUTBOX_PARTITIONS):
            pipe.get(keys.outbox_lease(p))
        tokens = await pipe.execute()
    # a token is "<gateway name>:<8 hex>"
    return [text(t).rsplit(":", 1)[0] if t is not None else "" for t in tokens]


async def poller_holder(redis: Redis, bot_id: int) -> str:
    """The owner token of the Telegram polling lease ("" while nobody polls)."""
    token = await redis.get(f"{keys.PREFIX}telegram:poller:{bot_id}")
    return text(token) if token is not None else ""


class SseClient:
    """A person reading one API session's events, reconnecting with ``Last-Event-ID``.

    ``frames`` holds ``(entry id, event)`` of every frame received, in order;
    ``connections`` the port of every connection made.
    """

    def __init__(self, http: aiohttp.ClientSession, cluster: Cluster, session: str, prefer: int):
        self.http = http
        self.cluster = cluster
        self.session = session
        self.prefer = prefer
        self.frames: list[tuple[str, dict[str, Any]]] = []
        self.connections: list[int] = []
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()

    @property
    def last_id(self) -> str | None:
        return self.frames[-1][0] if self.frames else None

    def _ports(self) -> list[int]:
        alive = self.cluster.alive_ports()
        return sorted(alive, key=lambda port: port != self.prefer)

    async def run(self) -> None:
        """Read until cancelled; a stream that ends is opened again at once."""
        while True:
            for port in self._ports():
                with contextlib.suppress(TimeoutError, aiohttp.ClientError, ConnectionError):
                    await self._read(port)
            await asyncio.sleep(RETRY)

    async def _read(self, port: int) -> None:
        headers = dict(HEADERS)
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        url = f"http://127.0.0.1:{port}/api/v1/sessions/{self.session}/events"
        async with self.http.get(url, headers=headers) as response:
            if response.status != 200:
                return
            self.connections.append(port)
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
                    self.changed.set()
                fields = {}

    def events(self) -> list[dict[str, Any]]:
        """What the person is shown: each final event once (by ``idempotency_key``)."""
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


class ApiUser:
    """An HTTP API client that retries on another gateway until one answers."""

    def __init__(self, http: aiohttp.ClientSession, cluster: Cluster) -> None:
        self.http = http
        self.cluster = cluster
        self.retries = 0

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> int:
        """POST until a gateway answers anything but a 5xx; that status."""
        while True:
            for port in self.cluster.alive_ports():
                try:
                    url = f"http://127.0.0.1:{port}{path}"
                    async with self.http.post(url, json=body, headers=headers) as response:
                        await response.read()
                        if response.status < 500:
                            return response.status
                except (TimeoutError, aiohttp.ClientError, ConnectionError):
                    pass
                self.retries += 1
            await asyncio.sleep(RETRY)

    async def say(self, session: str, message: str, key: str) -> None:
        """Queue ``message`` once, whatever retries it takes (``Idempotency-Key``)."""
        headers = {**HEADERS, "Idempotency-Key": key}
        body = {"session": session, "text": message, "user": "soak"}
        status = await self._post("/api/v1/messages", body, headers)
        assert status in (200, 202), status  # 200: a retry of one that got through

    async def approve(self, approval_id: str) -> None:
        """Approve as the operator; 409 is a retry of a decision that got through."""
        body = {"decision": "approve"}
        status = await self._post(f"/api/v1/approvals/{approval_id}", body, dict(HEADERS))
        assert status in (200, 409), status
