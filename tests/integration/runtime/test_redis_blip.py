"""A Redis blip during a turn: commands in flight fail once, the turn goes on.

The blip is real: one client makes the server busy for half a second (a Lua
loop) and then closes every other client's connection (``CLIENT KILL``), so
whatever the worker sent meanwhile fails with a connection error, and the next
command reconnects. A turn running through it must finish normally — not be
taken for stopped by the person, not be given up as lost.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from tests.integration.runtime.support import (
    Background,
    demo_config,
    drainer_of,
    inbound,
    outbox,
    send,
    wait_for,
)
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.approval_record import DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.inbox import QUEUE_NAME, TurnRequest, submit
from workers.queue import ArqJobQueue
from workers.turn import Outcome
from workers.worker import connect

BUSY = """
local t = redis.call('TIME')
local stop = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1]) * 1000
repeat t = redis.call('TIME') until tonumber(t[1]) * 1000000 + tonumber(t[2]) >= stop
return 1
"""
"""Keeps the server busy for ARGV[1] milliseconds (works on every Redis version)."""


def _slow_config(tmp_path: Path) -> FacioConfig:
    rules = [{"on": "user", "match": "slow", "text": "The slow answer.", "delay": 2.0}]
    (tmp_path / "slow.json").write_text(json.dumps({"rules": rules}))
    data = {"workspace": "ws", "bots": {"main": {"model": "scripted:slow.json", "tools": []}}}
    return parse_config(data, base_dir=tmp_path, env={}, source=tmp_path / "config.json")


async def test_a_turn_runs_through_a_redis_blip(make_redis: MakeRedis, tmp_path: Path) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    async with server:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        async with Background(_slow_config(tmp_path), server.url):
            turn = await send(pool, inbound("slow please"))
            await wait_for(redis, "turn_started")
            async with redis.pipeline(transaction=False) as blip:
                blip.eval(BUSY, 0, 500)
                blip.client_kill_filter(_type="normal", skipme=True)
                await blip.execute()
            (finished,) = await wait_for(redis, "turn_finished", timeout=15)
        assert finished["turn_id"] == turn.turn_id
        assert not finished.get("cancelled"), "a failed poll for /stop is not a /stop"
        responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
        assert responses == ["The slow answer."]
        assert await redis.llen(keys.history("api:test")) == 2
        await pool.aclose()
        await redis.aclose()


async def test_a_held_approval_survives_a_redis_blip(make_redis: MakeRedis, tmp_path: Path) -> None:
    # The holder blocks on the approval's doorbell; the blip drops that
    # connection. It must wait on, not die and leave the turn waiting for
    # approvalTimeout (an hour) while the person's click goes unheard.
    server = make_redis(tmp_path / "redis", appendonly=False)
    async with server:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        config = demo_config(tmp_path, approvalHold=600)
        async with Background(config, server.url):
            await send(pool, inbound("remember the milk"))
            (request,) = await wait_for(redis, "approval_request")
            await redis.client_kill_filter(_type="normal", skipme=True)
            approvals = ApprovalStore(pool)
            result = await decide(
                approvals, ArqJobQueue(pool), request["approval_id"], Decision.APPROVE, "u1"
            )
            assert result.outcome is DecideOutcome.DECIDED
            (finished,) = await wait_for(redis, "turn_finished", timeout=30)
        assert not finished.get("cancelled")
        outputs = [e for e in await outbox(redis) if e["type"] == "tool_output"]
        assert [e["content"] for e in outputs] == ["Saved note: the milk"]
        await pool.aclose()
        await redis.aclose()


async def test_a_drain_cancelled_while_redis_is_down_ends_cancelled(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    # Shutdown cancels the drain job, which hands the session back. With Redis
    # gone the hand-back cannot be made (the lease expires and the reaper
    # reschedules instead): the job must still end cancelled, not with the
    # hand-back's connection error (arq leaves that unretrieved: an asyncio
    # "Task exception was never retrieved" traceback on every such stop).
    server = make_redis(tmp_path / "redis", appendonly=False)

    class Recorder:
        def stage(self, session_key: str, job_id: str) -> None:
            return None  # enqueued by enqueue_drain, which records it

        async def enqueue_drain(self, session_key: str, job_id: str) -> None:
            await redis.zadd(QUEUE_NAME, {job_id: 0})  # arq's queue, where drainers take it
            self.job = job_id

    class Hanging:
        def __init__(self) -> None:
            self.running = asyncio.Event()

        async def run(
            self, request: TurnRequest, holder: str, *, parked: bool = False, then: Any = None
        ) -> Outcome:
            self.running.set()
            await asyncio.Event().wait()
            return "done"

    async with server:
        redis = Redis.from_url(server.url)
        queue = Recorder()
        await submit(redis, inbound("hello"), queue)
        runner = Hanging()
        drainer = drainer_of(redis, runner, queue)
        job = asyncio.create_task(drainer.drain("api:test", queue.job))
        await runner.running.wait()
        await server.stop()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        await redis.aclose()
