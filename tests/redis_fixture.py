"""A real Redis for the tests: one redis-server per test run, a clean database per test.

Never fakeredis: the runtime relies on Lua scripts, blocking pops, streams and
transactions behaving exactly as Redis does (STYLE.md, "fake at the edge only").

Fixtures (registered in tests/conftest.py):

- ``redis_server`` (session): the :class:`EmbeddedRedis` shared by the run, on a
  unix socket in a temporary folder, without AOF (nothing needs to survive it).
  It is started synchronously (``asyncio.run``) on first use, so it belongs to
  no test's event loop.
- ``redis_url`` (session): its URL, for code that makes its own clients. It
  does not flush: request ``redis`` as well to start from an empty database.
- ``redis`` (function, async): a ``redis.asyncio.Redis`` with bytes replies
  (``decode_responses=False``, as arq needs) on that server; the database is
  flushed before each test.
- ``make_redis`` (function, async): builds extra servers for tests that stop,
  kill or restart Redis (AOF, stale pidfiles): on a unix socket next to
  ``data_dir`` unless ``unix_socket`` or ``tcp=True`` (a free port on
  127.0.0.1) is given; any still running are stopped after the test. Use::

      async def test_x(make_redis: MakeRedis, tmp_path: Path) -> None:
          server = make_redis(tmp_path / "data", appendonly=True)
          async with server: ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest
from redis.asyncio import Redis

from workers.redis_server import EmbeddedRedis


class MakeRedis(Protocol):
    def __call__(
        self,
        data_dir: Path,
        *,
        unix_socket: Path | None = None,
        tcp: bool = False,
        appendonly: bool = True,
    ) -> EmbeddedRedis: ...


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    folder = tmp_path_factory.mktemp("redis")
    server = EmbeddedRedis(folder / "data", unix_socket=folder / "redis.sock", appendonly=False)
    asyncio.run(server.start())
    try:
        yield server
    finally:
        asyncio.run(server.stop())


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=False)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def make_redis() -> AsyncIterator[MakeRedis]:
    made: list[EmbeddedRedis] = []

    def make(
        data_dir: Path,
        *,
        unix_socket: Path | None = None,
        tcp: bool = False,
        appendonly: bool = True,
    ) -> EmbeddedRedis:
        if unix_socket is None and not tcp:
            unix_socket = data_dir.parent / f"{data_dir.name}.sock"
        server = EmbeddedRedis(data_dir, unix_socket=unix_socket, appendonly=appendonly)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            await server.stop()
