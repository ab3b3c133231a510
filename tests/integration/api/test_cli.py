"""``facio gateway`` and ``facio worker`` as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from facio.cli import main
from tests.integration.runtime.support import inbound, outbox, send, wait_for
from tests.ports import free_port
from workers.worker import connect

ROOT = Path(__file__).resolve().parents[3]


def _config(tmp_path: Path, redis_url: str, port: int = 8765) -> Path:
    path = tmp_path / "config.json"
    data = {
        "workspace": "ws",
        "redis": {"url": redis_url},
        "bots": {"main": {"preset": "demo"}},
        "gateway": {"host": "127.0.0.1", "port": port, "apiToken": "cli-token"},
    }
    path.write_text(json.dumps(data))
    return path


async def _facio(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "facio",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> dict[str, object]:
    async with aiohttp.ClientSession() as client:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError(f"the gateway exited with {process.returncode}")
            try:
                async with client.get(url) as response:
                    body: dict[str, object] = await response.json()
                    return body
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("the gateway never answered /healthz")


async def test_gateway_serves_until_sigterm(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    process = await _facio("gateway", "--config", str(_config(tmp_path, redis_url, port)))
    try:
        health = await _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        assert health["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert f"listening on http://127.0.0.1:{port}" in stderr.decode()
    assert "cli-token" not in stderr.decode()


async def test_worker_burst_runs_the_queued_turn_and_exits(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    await send(pool, inbound("hello"))
    await pool.aclose()
    process = await _facio("worker", "--burst", "--config", str(_config(tmp_path, redis_url)))
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    kinds = [e["type"] for e in await outbox(redis)]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"


async def test_worker_stops_on_sigterm(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    process = await _facio("worker", "--config", str(_config(tmp_path, redis_url)))
    try:
        pool = await connect(redis_url)
        await send(pool, inbound("hello"))
        await pool.aclose()
        await wait_for(redis, "turn_finished", timeout=20)  # it is up and working
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()


@pytest.mark.parametrize("command", ["gateway", "worker"])
def test_separate_processes_need_a_redis_url(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "")
    assert main([command, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "redis.url" in err and "facio up" in err
