"""Helpers for the HTTP API tests: a config with a token, a running gateway, a client."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from channels.gateway import Gateway
from core.config import FacioConfig, parse_config
from core.tools.builtin.notes import notes_file

TOKEN = "s3cret-token-for-tests"
NOTE = "remember to buy milk"


def api_config(tmp_path: Path, *, token: str = TOKEN, **agent: Any) -> FacioConfig:
    """The offline demo bot, with ``gateway.apiToken`` set and ``agent`` overrides."""
    data = {
        "workspace": "ws",
        "bots": {"main": {"preset": "demo"}},
        "agent": agent,
        "gateway": {"apiToken": token},
    }
    return parse_config(data, base_dir=tmp_path, env={})


def note_file(tmp_path: Path, session: str) -> Path:
    return notes_file(tmp_path / "ws", session)


@contextlib.asynccontextmanager
async def running(
    config: FacioConfig, redis_url: str, *, token: str | None = TOKEN, **options: Any
) -> AsyncIterator[tuple[Gateway, aiohttp.ClientSession]]:
    """A gateway on 127.0.0.1, a free port, and a client for it (with ``token`` if given)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        Gateway(config, redis_url, host="127.0.0.1", port=0, **options) as gateway,
        aiohttp.ClientSession(base_url=gateway.url, headers=headers) as client,
    ):
        yield gateway, client


async def post_message(
    client: aiohttp.ClientSession, text: str, session: str = "api:t", **headers: str
) -> dict[str, Any]:
    async with client.post(
        "/api/v1/messages", json={"session": session, "text": text}, headers=headers
    ) as response:
        assert response.status == 202, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def read_frames(
    response: aiohttp.ClientResponse, *, until: str | None, limit: int = 500
) -> list[dict[str, str]]:
    """SSE frames (field → value; comments under ``":"``) until an ``event: until`` frame.

    With ``until=None``, the next ``limit`` frames.
    """
    frames: list[dict[str, str]] = []
    current: dict[str, str] = {}
    while len(frames) < limit:
        line = (await response.content.readline()).decode()
        if not line:
            raise AssertionError(f"the stream ended before {until!r}: {frames}")
        line = line.rstrip("\n")
        if line:
            name, _, value = line.partition(":")
            current[name or ":"] = value.removeprefix(" ")
            continue
        frames.append(current)
        if until is not None and current.get("event") == until:
            return frames
        current = {}
    if until is None:
        return frames
    raise AssertionError(f"no {until!r} in {limit} frames")


def events_of(frames: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [json.loads(f["data"]) for f in frames if "data" in f]
