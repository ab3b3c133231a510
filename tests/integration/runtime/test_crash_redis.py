"""A Redis restart with AOF loses no queued turn and no pending approval.

Turns are queued while no worker runs (the inboxes and arq's drain jobs are
only in Redis), an approval is left pending on a parked turn, then the
redis-server is stopped (SIGTERM: it flushes its AOF) and, after more turns
were queued, SIGKILLed; each time it starts again from the same folder. A
worker started afterwards runs every queued turn once, in order, and the
approval, decided after both restarts, resumes its turn.

The SIGKILL comes once Redis has written its AOF buffer to the file (INFO
``aof_buffer_length`` 0), which it normally does before it even answers
the write; what ``appendfsync everysec`` risks is the last second or two on
a *host* crash (docs/runtime.md, "What survives what").
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from core.messages import AssistantMessage, UserMessage
from tests.integration.runtime.processes import (
    RECOVERY_BOUND,
    SAVE_RULES,
    Processes,
    finals,
    history,
    notes,
    outbox_events,
    rendered,
    serving,
    until,
    write_config,
)
from tests.integration.runtime.support import inbound, send
from tests.ports import free_port
from tests.redis_fixture import MakeRedis
from workers import keys
from workers.approval_record import DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.queue import ArqJobQueue
from workers.redis_server import EmbeddedRedis
from workers.worker import connect

MESSAGES = 3
OUTAGE = 3.0
"""Seconds Redis is down in the mid-turn test: longer than the model call, so the turn
fails to save its answer and is taken up again."""


async def _queue(server: EmbeddedRedis, sessions: list[str]) -> list[str]:
    """Queue MESSAGES turns on each session (no worker runs); their turn ids."""
    pool = await connect(server.url)
    try:
        return [
            (await send(pool, inbound(f"{session} m{j}", session=session))).turn_id
            for session in sessions
            for j in range(MESSAGES)
        ]
    finally:
        await pool.aclose()


async def _written(server: EmbeddedRedis) -> None:
    """Wait until the AOF buffer is in the file (the kernel has it; not yet fsynced)."""
    client = Redis.from_url(server.url)
    try:
        while (await client.info("persistence"))["aof_buffer_length"]:
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_queued_turns_and_a_pending_approval_survive_redis_restarts(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=True)
    config = write_config(tmp_path, server.url, SAVE_RULES, approvalHold=0)
    async with server, Processes(tmp_path) as procs:
        # An approval left pending on a parked turn; then no worker runs.
        pool = await connect(server.url)
        worker = procs.worker(config, "worker-1")
        parked = await send(pool, inbound("save the milk", session="api:approval"))

        async def is_parked() -> bool:
            return bool(await pool.exists(keys.parked("api:approval")))

        await until(is_parked, "the turn to park on its approval", 30, procs)
        assert await worker.stop() == 0
        await pool.aclose()

        stopped = ["api:stop0", "api:stop1", "api:stop2"]
        queued = await _queue(server, stopped)
        await server.stop()  # SIGTERM
        await server.start()

        killed = ["api:kill0", "api:kill1", "api:kill2"]
        queued += await _queue(server, killed)
        await _written(server)
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        await server.stop()  # reaps it
        await server.start()

        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        approvals = ApprovalStore(pool)
        (record,) = await approvals.pending()
        assert record.session_key == "api:approval" and record.tool_name == "save_note"
        assert await redis.llen(keys.inbox("api:kill2")) == MESSAGES

        procs.worker(config, "worker-2")

        async def all_ran() -> bool:
            events = await outbox_events(redis)
            return sum(e["type"] == "turn_finished" for e in events) == len(queued)

        await until(all_ran, "the queued turns to run", 30, procs)
        for session in stopped + killed:
            expected = []
            for j in range(MESSAGES):
                said = f"{session} m{j}"
                expected += [(UserMessage, said), (AssistantMessage, f"You said: {said}")]
            assert [(type(m), m.content) for m in await history(redis, session)] == expected
        events = await outbox_events(redis)
        started = Counter(e["turn_id"] for e in events if e["type"] == "turn_started")
        assert started == Counter([parked.turn_id, *queued])  # each turn once

        result = await decide(
            approvals, ArqJobQueue(pool), record.approval_id, Decision.APPROVE, "api", operator=True
        )
        assert result.outcome is DecideOutcome.DECIDED

        async def resumed() -> bool:
            return any(
                e["type"] == "turn_finished" and e["turn_id"] == parked.turn_id
                for e in await outbox_events(redis)
            )

        await until(resumed, "the approved turn to finish", 30, procs)
        assert notes(tmp_path / "ws", "api:approval").read_text() == "- the milk\n"
        await pool.aclose()
        await redis.aclose()


async def test_a_running_worker_rides_out_a_redis_restart_mid_turn(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=True)
    rules = [{"on": "user", "match": "^slow", "delay": 2.0, "text": "The slow answer."}]
    config = write_config(tmp_path, server.url, rules + SAVE_RULES)
    async with server, Processes(tmp_path) as procs:
        worker = procs.worker(config, "worker")
        pool = await connect(server.url)
        slow = await send(pool, inbound("slow one", session="api:slow"))

        async def running() -> bool:
            return bool(await pool.hexists(keys.turn(slow.turn_id), "running"))  # type: ignore[misc]

        await until(running, "the slow turn to start", 30, procs)
        await pool.aclose()
        await server.stop()  # mid model call: its answer cannot be saved
        await asyncio.sleep(OUTAGE)
        await server.start()
        restarted = time.monotonic()

        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        after = await send(pool, inbound("after", session="api:slow"))
        other = await send(pool, inbound("other", session="api:other"))
        turn_ids = [slow.turn_id, after.turn_id, other.turn_id]

        async def all_finished() -> bool:
            events = await outbox_events(redis)
            done = {e["turn_id"] for e in events if e["type"] == "turn_finished"}
            return done >= set(turn_ids)

        await until(all_finished, "the turns to finish", RECOVERY_BOUND + 15, procs)
        recovery = time.monotonic() - restarted
        print(f"Redis back after a {OUTAGE:g} s outage mid-turn → turns done in {recovery:.1f} s")
        assert worker.alive, "the worker waits for Redis instead of exiting"
        assert [(type(m), m.content) for m in await history(redis, "api:slow")] == [
            (UserMessage, "slow one"),
            (AssistantMessage, "The slow answer."),
            (UserMessage, "after"),
            (AssistantMessage, "You said: after"),
        ]
        shown = await rendered(redis)
        assert finals(shown, "api:slow") == [
            ("turn_started", ""),
            ("response", "The slow answer."),
            ("turn_finished", ""),
            ("turn_started", ""),
            ("response", "You said: after"),
            ("turn_finished", ""),
        ]
        await pool.aclose()
        await redis.aclose()


async def test_processes_ride_out_redis_down_and_stop_cleanly(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    # `docker compose down` stops Redis, the gateway and the workers together.
    # While Redis is away each retry loop says so in one line (no traceback a
    # second), and a process stopped then still closes what it holds (the
    # worker: kernels, HTTP clients) and exits 0.
    server = make_redis(tmp_path / "redis", appendonly=False)
    port = free_port()
    config = write_config(tmp_path, server.url, SAVE_RULES, gateway_port=port)
    async with server, Processes(tmp_path) as procs:
        worker = procs.worker(config, "worker")
        gateway = procs.facio("gateway", config, "gateway")
        await serving(port, procs)  # connected: stopping Redis now is what the test is about
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        turn = await send(pool, inbound("hello", session="api:down"))

        async def answered() -> bool:
            return len(await history(redis, "api:down")) == 2

        await until(answered, f"turn {turn.turn_id} to run", 30, procs)
        await pool.aclose()
        await redis.aclose()
        await server.stop()

        async def noticed() -> bool:
            return (
                "outbox: Redis unavailable" in gateway.tail()
                and "upkeep could not reach Redis" in worker.tail()
            )

        await until(noticed, "both to notice Redis is gone", 30, procs)
        assert await worker.stop() == 0, worker.tail()
        assert await gateway.stop() == 0, gateway.tail()
        assert "Traceback" not in worker.tail() + gateway.tail(), procs.logs()
