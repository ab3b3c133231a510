"""Approvals through the runtime: held in process, parked, decided, expired."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from core.config import FacioConfig
from core.tools.builtin.notes import notes_file
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
from workers.approval_record import DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.maintenance import expire
from workers.queue import ArqJobQueue
from workers.worker import connect

NOTE = "remember to water the plants"


async def _park_note(pool: Redis, redis: Redis, config: FacioConfig, url: str) -> dict[str, Any]:
    """Ask the demo bot to save a note and let the worker run until the turn parks."""
    await send(pool, inbound(NOTE))
    await run_burst(config, url)
    (request,) = await wait_for(redis, "approval_request")
    return request


def _note(tmp_path: Path, session: str = "api:test") -> Path:
    return notes_file(tmp_path / "ws", session)


async def _decide(
    pool: Redis, approval_id: str, decision: Decision, user: str = "u1"
) -> DecideOutcome:
    result = await decide(ApprovalStore(pool), ArqJobQueue(pool), approval_id, decision, user)  # type: ignore[arg-type]
    return result.outcome


async def test_a_quick_decision_resumes_the_held_turn(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=30)
    pool = await connect(redis_url)
    async with Background(config, redis_url):
        await send(pool, inbound(NOTE, approvers=("boss",)))
        (request,) = await wait_for(redis, "approval_request")
        assert request["tool_name"] == "save_note"
        assert request["tool_args"] == {"text": "to water the plants"}
        record = await ApprovalStore(redis).get(request["approval_id"])
        assert record is not None and set(record.deciders) == {"u1", "boss"}
        started = time.perf_counter()
        assert (
            await _decide(pool, request["approval_id"], Decision.APPROVE) is DecideOutcome.DECIDED
        )
        await wait_for(redis, "turn_finished")
        resumed_in = time.perf_counter() - started
    assert resumed_in < 2.0
    assert "water the plants" in _note(tmp_path).read_text()
    assert not await redis.exists(keys.parked("api:test"))
    kinds = [e["type"] for e in await outbox(redis)]
    assert "approval_decided" in kinds
    await pool.aclose()


async def test_a_parked_turn_resumes_on_any_worker_after_the_click(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=0)
    pool = await connect(redis_url)
    await send(pool, inbound(NOTE))
    await run_burst(config, redis_url)  # the job ends: the session is parked
    (request,) = await wait_for(redis, "approval_request")
    assert await redis.exists(keys.parked("api:test"))
    assert not await redis.exists(keys.lease("api:test"))
    assert not _note(tmp_path).exists()
    # a message arriving meanwhile waits behind the parked turn
    await send(pool, inbound("what time is it?"))
    await run_burst(config, redis_url)
    assert [e["type"] for e in await outbox(redis)].count("turn_finished") == 0

    assert await _decide(pool, request["approval_id"], Decision.APPROVE) is DecideOutcome.DECIDED
    await run_burst(config, redis_url)  # a fresh worker resumes it
    finished = await wait_for(redis, "turn_finished", count=2)
    assert finished[0]["turn_id"] == request["turn_id"]
    assert "water the plants" in _note(tmp_path).read_text()
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert any(r.startswith("Done, I saved the note") for r in responses)
    assert any(r.startswith("It is ") for r in responses)  # the queued turn ran after
    # resuming a parked turn is not crash recovery: nothing is published twice
    assert responses.count("I'll save that as a note.") == 1
    await pool.aclose()


async def test_rejection_and_decisions_that_change_nothing(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=0)
    pool = await connect(redis_url)
    request = await _park_note(pool, redis, config, redis_url)
    approval_id = request["approval_id"]
    assert (
        await _decide(pool, approval_id, Decision.APPROVE, user="stranger")
        is DecideOutcome.FORBIDDEN
    )
    assert await _decide(pool, "no-such-id", Decision.APPROVE) is DecideOutcome.NOT_FOUND
    assert await _decide(pool, approval_id, Decision.REJECT) is DecideOutcome.DECIDED
    assert await _decide(pool, approval_id, Decision.APPROVE) is DecideOutcome.ALREADY_DECIDED
    await run_burst(config, redis_url)
    await wait_for(redis, "turn_finished")
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert responses[-1].startswith("Rejected: I did not run save_note")
    assert not _note(tmp_path).exists()
    await pool.aclose()


async def test_allow_for_session_becomes_a_rule(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=0)
    pool = await connect(redis_url)
    request = await _park_note(pool, redis, config, redis_url)
    await _decide(pool, request["approval_id"], Decision.SESSION)
    await run_burst(config, redis_url)
    await send(pool, inbound("remember to buy bread"))
    await run_burst(config, redis_url)
    assert len(await wait_for(redis, "turn_finished", count=2)) == 2
    assert [e["type"] for e in await outbox(redis)].count("approval_request") == 1
    assert _note(tmp_path).read_text().count("\n") == 2
    await pool.aclose()


async def test_an_expired_approval_is_a_rejection_the_person_hears(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = demo_config(tmp_path, approvalHold=0, approvalTimeout=1)
    pool = await connect(redis_url)
    request = await _park_note(pool, redis, config, redis_url)
    await asyncio.sleep(1.1)
    assert await expire(ApprovalStore(pool), ArqJobQueue(pool)) == 1
    await run_burst(config, redis_url)
    decided = await wait_for(redis, "approval_decided")
    assert decided[0]["status"] == "expired"
    assert await _decide(pool, request["approval_id"], Decision.APPROVE) is DecideOutcome.EXPIRED
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert responses[-1].startswith("Rejected")
    assert not _note(tmp_path).exists()
    await pool.aclose()


async def test_a_held_approval_expires_on_time_and_late_clicks_are_told(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    # held in process (hold 30 s) but its own deadline (1 s) comes first: the
    # worker expires the record itself, without waiting for the sweeper
    config = demo_config(tmp_path, approvalHold=30, approvalTimeout=1)
    pool = await connect(redis_url)
    async with Background(config, redis_url):
        await send(pool, inbound(NOTE))
        (request,) = await wait_for(redis, "approval_request")
        asked = time.perf_counter()
        # announced at the 1 s deadline, not at the sweeper's next pass (5 s)
        (decided,) = await wait_for(redis, "approval_decided", timeout=3)
        assert decided["status"] == "expired"
        assert time.perf_counter() - asked < 3
        await wait_for(redis, "turn_finished", timeout=5)
    late = await _decide(pool, request["approval_id"], Decision.APPROVE)
    assert late is DecideOutcome.EXPIRED
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert responses[-1].startswith("Rejected")
    assert not _note(tmp_path).exists()
    await pool.aclose()


def _turns_running() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "TurnRunner.run" in repr(task.get_coro())
    ]


async def test_a_worker_stopping_while_it_holds_an_approval_leaves_no_turn_behind(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    """Shutdown hands the session back *and* stops its turn: a turn left running
    in the stopping process would race the worker that takes the session over
    (and in `facio up` it died noisily once the embedded Redis had stopped)."""
    config = demo_config(tmp_path, approvalHold=30)
    pool = await connect(redis_url)
    async with Background(config, redis_url):
        await send(pool, inbound(NOTE))
        (request,) = await wait_for(redis, "approval_request")
        assert _turns_running()
    assert _turns_running() == []
    assert not await redis.exists(keys.lease("api:test"))  # handed back at once
    assert await _decide(pool, request["approval_id"], Decision.APPROVE) is DecideOutcome.DECIDED
    await run_burst(config, redis_url)  # the next worker resumes the turn
    await wait_for(redis, "turn_finished")
    assert _note(tmp_path).read_text().count("water the plants") == 1
    responses = [e["content"] for e in await outbox(redis) if e["type"] == "response"]
    assert responses[-1].startswith("Done, I saved the note")
    await pool.aclose()
