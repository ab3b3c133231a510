"""kill -9 (or SIGTERM) of a ``facio worker`` mid-turn: another worker process finishes
the turn, once.

Two real worker processes on a Redis of the test's own. Worker A is started
alone so that it takes the sessions; worker B is started just before A is
SIGKILLed. B's reaper finds the sessions unleased once A's lease runs out
(``LEASE_TTL`` 15 s, checked every 5 s): the turn must be completed within
DESIGN.md's 30 seconds of the kill, and the person must see each reply once
(the outbox as the gateway renders it, duplicates dropped by idempotency key).
A worker stopped with SIGTERM hands its turn back after ``SHUTDOWN_GRACE``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from redis.asyncio import Redis

from core.agent.tool_step import INTERRUPTED
from core.messages import AssistantMessage, ToolResult, ToolStarted, UserMessage
from tests.integration.runtime.processes import (
    RECOVERY_BOUND,
    SAVE_RULES,
    Processes,
    finals,
    history,
    lease_pid,
    notes,
    outbox_events,
    rendered,
    turn_state,
    until,
    write_config,
)
from tests.integration.runtime.support import inbound, send
from tests.redis_fixture import MakeRedis
from workers.worker import SHUTDOWN_GRACE, connect

SLOW = 3.0
"""Seconds the scripted model takes for "slow …": the kill lands inside them."""


async def _finished(redis: Redis, turn_id: str) -> bool:
    return any(
        e["type"] == "turn_finished" and e["turn_id"] == turn_id for e in await outbox_events(redis)
    )


async def test_a_turn_killed_mid_model_call_or_mid_tool_finishes_once_elsewhere(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    rules = [{"on": "user", "match": "^slow", "delay": SLOW, "text": "The slow answer."}]
    config = write_config(tmp_path, server.url, rules + SAVE_RULES, allow=["save_note"])
    note = notes(tmp_path / "ws", "api:tool")
    note.parent.mkdir(parents=True)
    os.mkfifo(note)  # save_note hangs opening it: killed after it was marked started
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        a = procs.worker(config, "worker-a")

        model = await send(pool, inbound("slow please", session="api:model"))

        async def model_running() -> bool:
            return "running" in await turn_state(redis, model.turn_id)

        await until(model_running, "worker A to start the slow turn", 30, procs)
        tool = await send(pool, inbound("save the milk", session="api:tool"))

        async def tool_started() -> bool:
            messages = await history(redis, "api:tool")
            return bool(messages) and isinstance(messages[-1], ToolStarted)

        await until(tool_started, "worker A to start save_note", 10, procs)
        b = procs.worker(config, "worker-b")
        assert await lease_pid(redis, "api:model") == a.pid
        assert await lease_pid(redis, "api:tool") == a.pid
        killed = a.kill()
        note.unlink()
        note.touch()  # a plain file now: a second run of save_note would add a line

        async def both_finished() -> bool:
            return await _finished(redis, model.turn_id) and await _finished(redis, tool.turn_id)

        await until(both_finished, "worker B to finish both turns", RECOVERY_BOUND + 15, procs)
        recovery = time.monotonic() - killed
        assert recovery < RECOVERY_BOUND, f"recovered in {recovery:.1f} s\n{procs.logs()}"
        print(f"kill -9 mid-turn → both turns finished on worker B in {recovery:.1f} s")
        assert await lease_pid(redis, "api:model") is None  # B closed the sessions

        # The model step ran again on B; the history holds the prompt once.
        model_history = await history(redis, "api:model")
        assert [type(m) for m in model_history] == [UserMessage, AssistantMessage]
        assert model_history[1].content == "The slow answer."

        # The tool that had started is reported as interrupted, not run again.
        tool_history = await history(redis, "api:tool")
        results = [m for m in tool_history if isinstance(m, ToolResult)]
        assert [(r.name, r.content, r.is_error) for r in results] == [
            ("save_note", INTERRUPTED, True)
        ]
        assert note.read_text() == ""
        assert [m.content for m in tool_history if isinstance(m, UserMessage)] == ["save the milk"]

        # What the person sees: each reply once, although B published some again.
        shown = await rendered(redis)
        assert finals(shown, "api:model") == [
            ("turn_started", ""),
            ("response", "The slow answer."),
            ("turn_finished", ""),
        ]
        assert finals(shown, "api:tool") == [
            ("turn_started", ""),
            ("response", "Saving the milk."),
            ("tool_output", INTERRUPTED),
            ("response", f"Tool said: {INTERRUPTED}"),
            ("turn_finished", ""),
        ]
        published = [e for e in await outbox_events(redis) if e["session_key"] == "api:tool"]
        assert [e["content"] for e in published if e["type"] == "response"].count(
            "Saving the milk."
        ) == 2, "B republishes the step it inherited; the gateway drops the copy"

        # B runs the session's next turn as usual: the tool works, once.
        again = await send(pool, inbound("save the bread", session="api:tool"))

        async def again_finished() -> bool:
            return await _finished(redis, again.turn_id)

        await until(again_finished, "the next turn", 20, procs)
        assert note.read_text() == "- the bread\n"
        assert b.alive
        await pool.aclose()
        await redis.aclose()


async def test_a_stopped_workers_turn_is_handed_back_after_the_grace(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    """SIGTERM: the running turn gets SHUTDOWN_GRACE, then continues elsewhere at once.

    Worker A's model is slower than the grace; worker B's (its own config) is
    quick, so the turn finishes as soon as B has it: no lease to wait for.
    """
    server = make_redis(tmp_path / "redis", appendonly=False)
    slow = [{"on": "user", "match": "^slow", "delay": SHUTDOWN_GRACE + 20, "text": "Slow."}]
    quick = [{"on": "user", "match": "^slow", "text": "Quick."}]
    config_a = write_config(tmp_path, server.url, slow, name="a.json")
    config_b = write_config(tmp_path, server.url, quick, name="b.json")
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        a = procs.worker(config_a, "worker-a")
        turn = await send(pool, inbound("slow please", session="api:grace"))

        async def running() -> bool:
            return "running" in await turn_state(redis, turn.turn_id)

        await until(running, "worker A to start the turn", 30, procs)
        procs.worker(config_b, "worker-b")
        stopped = time.monotonic()
        exit_code = asyncio.create_task(a.stop(timeout=SHUTDOWN_GRACE + 10))

        async def finished() -> bool:
            return await _finished(redis, turn.turn_id)

        await until(finished, "worker B to finish the turn", SHUTDOWN_GRACE + 15, procs)
        handed = time.monotonic() - stopped
        print(f"SIGTERM → turn finished on B {handed:.1f} s later (grace {SHUTDOWN_GRACE} s)")
        assert SHUTDOWN_GRACE <= handed < SHUTDOWN_GRACE + 5
        assert await exit_code == 0
        assert [(type(m), m.content) for m in await history(redis, "api:grace")] == [
            (UserMessage, "slow please"),
            (AssistantMessage, "Quick."),
        ]
        await pool.aclose()
        await redis.aclose()


async def test_a_worker_paused_past_its_lease_cannot_write_into_the_session(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    # Worker A is paused (SIGSTOP) in the middle of a model call, past its lease: B
    # takes the session over and finishes the turn. When A wakes, its model call
    # returns and it tries to save the answer and publish it: both are fenced by
    # the lease, so the history holds B's answer once and nothing of A's.
    server = make_redis(tmp_path / "redis", appendonly=False)
    rules = [{"on": "user", "match": "^slow", "delay": SLOW, "text": "The slow answer."}]
    config = write_config(tmp_path, server.url, rules + SAVE_RULES)
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        a = procs.worker(config, "worker-a")
        turn = await send(pool, inbound("slow please", session="api:paused"))

        async def running() -> bool:
            return "running" in await turn_state(redis, turn.turn_id)

        await until(running, "worker A to start the slow turn", 30, procs)
        a.pause()
        paused = time.monotonic()
        b = procs.worker(config, "worker-b")

        async def finished() -> bool:
            return await _finished(redis, turn.turn_id)

        await until(finished, "worker B to take the session over", RECOVERY_BOUND + SLOW, procs)
        assert await lease_pid(redis, "api:paused") in (None, b.pid)
        a.resume()  # A's model call answers now: the write must be refused
        await asyncio.sleep(SLOW + 2.0)
        messages = await history(redis, "api:paused")
        assert [type(m) for m in messages] == [UserMessage, AssistantMessage], messages
        answers = [e for e in await outbox_events(redis) if e["type"] == "response"]
        assert len(answers) == 1, answers  # A published nothing after it lost the lease
        assert "is no longer this worker's" in a.tail() or "lost the lease" in a.tail()
        print(f"paused worker: session taken over {time.monotonic() - paused:.1f} s after")
        await pool.aclose()
        await redis.aclose()
