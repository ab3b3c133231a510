"""Session control through the runtime: /stop cancels a turn, /new starts over."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from redis.asyncio import Redis

from core.config import parse_config
from tests.integration.runtime.support import (
    Background,
    demo_config,
    inbound,
    outbox,
    run_burst,
    send,
    wait_for,
)
from workers import keys
from workers.inbox import request_stop, submit
from workers.queue import ArqJobQueue
from workers.worker import connect


def _slow_config(tmp_path: Path, delay: float) -> object:
    (tmp_path / "slow.json").write_text(
        json.dumps(
            {
                "rules": [{"on": "user", "match": "slow", "text": "finally", "delay": delay}],
                "fallback": "quick",
            }
        )
    )
    data = {"workspace": "ws", "bots": {"main": {"model": "scripted:slow.json", "tools": []}}}
    return parse_config(data, base_dir=tmp_path, env={}, source=tmp_path / "config.json")


async def test_stop_cancels_the_running_turn_only(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = _slow_config(tmp_path, delay=30)
    pool = await connect(redis_url)
    async with Background(config, redis_url):  # type: ignore[arg-type]
        await send(pool, inbound("slow please"))
        await wait_for(redis, "turn_started")
        started = time.perf_counter()
        await request_stop(pool, "api:test", ArqJobQueue(pool))
        (finished,) = await wait_for(redis, "turn_finished")
        assert finished.get("cancelled") is True
        assert time.perf_counter() - started < 2.0
        # a message sent after the stop is not affected by it
        await send(pool, inbound("hello"))
        done = await wait_for(redis, "turn_finished", count=2)
        assert "cancelled" not in done[1]
        # the turn's end is published before its inbox item is popped: let the pop happen
        deadline = time.perf_counter() + 10
        while await redis.exists(keys.inbox("api:test")) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert responses == ["quick"]
    assert not await redis.exists(keys.inbox("api:test"))
    await pool.aclose()


async def test_stop_closes_a_parked_turn(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    config = demo_config(tmp_path, approvalHold=0)
    pool = await connect(redis_url)
    await send(pool, inbound("remember to feed the cat"))
    await run_burst(config, redis_url)
    assert await redis.exists(keys.parked("api:test"))
    await request_stop(pool, "api:test", ArqJobQueue(pool))
    await run_burst(config, redis_url)
    (finished,) = await wait_for(redis, "turn_finished")
    assert finished.get("cancelled") is True
    assert not await redis.exists(keys.parked("api:test"))
    assert not await redis.exists(keys.inbox("api:test"))
    await pool.aclose()


async def test_reset_runs_in_turn_and_forgets_the_session(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path)
    pool = await connect(redis_url)
    await send(pool, inbound("hello"))
    await redis.sadd(keys.perm_session("api:test"), "save_note")
    await submit(pool, inbound("/new"), ArqJobQueue(pool), command="reset")
    await send(pool, inbound("think about soup"))
    await run_burst(config, redis_url)
    kinds = [e["type"] for e in await outbox(redis)]
    assert kinds.count("session_reset") == 1
    assert kinds.index("session_reset") < len(kinds) - 1
    history = await redis.lrange(keys.history("api:test"), 0, -1)
    assert len(history) == 2 and b"think about soup" in history[0]  # only the turn after /new
    assert not await redis.exists(keys.perm_session("api:test"))
    await pool.aclose()
