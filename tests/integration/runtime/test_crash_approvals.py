"""kill -9 of a ``facio worker`` waiting for an approval: the approval stays decidable and
the turn completes once, on the other worker process.

Held (``approvalHold`` large): the dead worker held the session's lease; the
other worker's reaper takes the session over once the lease runs out, whether
the person decided meanwhile (it resumes with the decision) or decides later
(it holds the same approval again). Parked (``approvalHold`` 0): the worker
holds nothing, so killing it changes nothing; the decision schedules the
resume on whichever worker is alive.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiohttp
from arq.connections import ArqRedis
from redis.asyncio import Redis

from tests.integration.api.support import read_frames
from tests.integration.runtime.processes import (
    RECOVERY_BOUND,
    SAVE_RULES,
    TOKEN,
    Processes,
    finals,
    lease_pid,
    notes,
    outbox_events,
    rendered,
    turn_state,
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
from workers.worker import connect


async def _finished(redis: Redis, turn_id: str) -> bool:
    return any(
        e["type"] == "turn_finished" and e["turn_id"] == turn_id for e in await outbox_events(redis)
    )


async def _approve(pool: ArqRedis, approval_id: str) -> DecideOutcome:
    """Approve as the operator would over the API (the same path as a button)."""
    result = await decide(
        ApprovalStore(pool), ArqJobQueue(pool), approval_id, Decision.APPROVE, "api", operator=True
    )
    return result.outcome


def _seen_once(what: str) -> list[tuple[str, str]]:
    """What the person sees of a "save …" turn that was approved: each event once."""
    return [
        ("turn_started", ""),
        ("response", f"Saving {what}."),
        ("approval_request", ""),
        ("approval_decided", ""),
        ("tool_output", f"Saved note: {what}"),
        ("response", f"Tool said: Saved note: {what}"),
        ("turn_finished", ""),
    ]


async def test_a_worker_killed_holding_approvals_hands_them_to_the_other(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    server = make_redis(tmp_path / "redis", appendonly=False)
    config = write_config(tmp_path, server.url, SAVE_RULES, approvalHold=600)
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        approvals = ApprovalStore(pool)
        a = procs.worker(config, "worker-a")
        early = await send(pool, inbound("save the milk", session="api:early"))
        late = await send(pool, inbound("save the bread", session="api:late"))

        async def both_held() -> bool:
            return len(await approvals.pending()) == 2

        await until(both_held, "worker A to hold both approvals", 30, procs)
        by_session = {r.session_key: r.approval_id for r in await approvals.pending()}
        assert await lease_pid(redis, "api:early") == a.pid
        assert await lease_pid(redis, "api:late") == a.pid
        b = procs.worker(config, "worker-b")
        killed = a.kill()

        # Decided while nobody holds the session: B resumes with the decision.
        assert await _approve(pool, by_session["api:early"]) is DecideOutcome.DECIDED

        async def early_finished() -> bool:
            return await _finished(redis, early.turn_id)

        await until(early_finished, "B to resume the early turn", RECOVERY_BOUND + 15, procs)
        recovery = time.monotonic() - killed
        assert recovery < RECOVERY_BOUND, f"recovered in {recovery:.1f} s\n{procs.logs()}"
        print(f"kill -9 holding an approval → decided turn finished on B in {recovery:.1f} s")

        # Undecided: B holds the very same approval again; a click resumes it at once.
        async def b_holds_late() -> bool:
            holder = (await turn_state(redis, late.turn_id)).get("running", "")
            return holder.split(":")[1:2] == [str(b.pid)]

        await until(b_holds_late, "B to hold the late approval", RECOVERY_BOUND, procs)
        assert [r.approval_id for r in await approvals.pending()] == [by_session["api:late"]]
        clicked = time.monotonic()
        assert await _approve(pool, by_session["api:late"]) is DecideOutcome.DECIDED

        async def late_finished() -> bool:
            return await _finished(redis, late.turn_id)

        await until(late_finished, "B to resume the late turn", 10, procs)
        print(f"click → held turn finished on B in {time.monotonic() - clicked:.2f} s")

        for session, what in [("api:early", "the milk"), ("api:late", "the bread")]:
            assert notes(tmp_path / "ws", session).read_text() == f"- {what}\n"
        shown = await rendered(redis)
        for session, what in [("api:early", "the milk"), ("api:late", "the bread")]:
            assert finals(shown, session) == _seen_once(what), session
        assert b.alive
        await pool.aclose()
        await redis.aclose()


async def test_a_parked_turn_resumes_on_the_living_worker_over_the_http_api(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    """The distributed set-up end to end: `facio gateway`, two `facio worker`s, HTTP."""
    server = make_redis(tmp_path / "redis", appendonly=False)
    port = free_port()
    config = write_config(tmp_path, server.url, SAVE_RULES, gateway_port=port, approvalHold=0)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        server,
        Processes(tmp_path) as procs,
        aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as http,
    ):
        redis = Redis.from_url(server.url)
        procs.facio("gateway", config, "gateway")
        a = procs.worker(config, "worker-a")

        async def healthy() -> bool:
            try:
                async with http.get("/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False

        await until(healthy, "the gateway to answer", 30, procs)
        message = {"session": "api:p", "text": "save the milk", "user": "u1"}
        async with http.post("/api/v1/messages", json=message) as response:
            assert response.status == 202
            turn_id = (await response.json())["turn_id"]

        async def parked() -> bool:
            return bool(await redis.exists(keys.parked("api:p"))) and not await redis.exists(
                keys.sched("api:p")
            )

        await until(parked, "worker A to park the turn", 30, procs)
        assert await lease_pid(redis, "api:p") is None  # nothing held: the job ended
        async with http.get("/api/v1/approvals?status=pending") as response:
            (approval,) = (await response.json())["approvals"]
        procs.worker(config, "worker-b")
        a.kill()

        clicked = time.monotonic()
        decision = {"decision": "approve"}
        async with http.post(f"/api/v1/approvals/{approval['approval_id']}", json=decision) as r:
            assert r.status == 200

        async def finished() -> bool:
            return await _finished(redis, turn_id)

        await until(finished, "worker B to resume the parked turn", RECOVERY_BOUND, procs)
        print(f"click → parked turn finished on B in {time.monotonic() - clicked:.2f} s")
        assert notes(tmp_path / "ws", "api:p").read_text() == "- the milk\n"

        # An API client replays the session over SSE and drops repeated keys.
        replay = "/api/v1/sessions/api:p/events?last_event_id=0"
        async with http.get(replay) as response:
            frames = await read_frames(response, until="turn_finished")
        events = [json.loads(f["data"]) for f in frames if "data" in f]
        seen: set[str] = set()
        shown = []
        for event in events:
            key = event.get("idempotency_key")
            if key not in seen:
                shown.append(event)
            if key:
                seen.add(key)
        assert finals(shown, "api:p") == _seen_once("the milk")

        async with http.get("/metrics") as response:
            metrics = await response.text()
        assert "facio_approval_latency_seconds_count 1" in metrics
        assert 'facio_approval_decisions_total{outcome="decided"} 1' in metrics
        await redis.aclose()


async def test_a_worker_killed_during_an_approval_inside_code_fails_the_code_action_clearly(
    make_redis: MakeRedis, tmp_path: Path
) -> None:
    """An approval raised by running code belongs to the process running the kernel: when
    that worker dies, the other one finishes the turn, the code action is reported to the
    model as interrupted (not run again), and the approval is closed, not left decidable."""
    server = make_redis(tmp_path / "redis", appendonly=False)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "workspace": "ws",
                "redis": {"url": server.url},
                "agent": {"model": "scripted:code", "approvalHold": 600},
                "bots": {
                    "main": {
                        "model": "scripted:code",
                        "tools": ["ipybox_execute_ipython_cell"],
                        "allow": ["ipybox_execute_ipython_cell"],  # the cell runs; its shell asks
                    }
                },
                "code": {"poolSize": 1, "kernelInitTimeout": 90},
            }
        )
    )
    marker = tmp_path / "shell-ran"
    async with server, Processes(tmp_path) as procs:
        redis = Redis.from_url(server.url)
        pool = await connect(server.url)
        approvals = ApprovalStore(pool)
        a = procs.worker(config, "worker-a")
        turn = await send(pool, inbound(f"run !touch {marker}", session="api:code"))

        async def asked() -> bool:
            return bool(await approvals.pending())

        await until(asked, "worker A's kernel to ask about the shell command", 90, procs)
        (pending,) = await approvals.pending()
        assert pending.tool_name == "shell" and not pending.parkable
        b = procs.worker(config, "worker-b")
        a.kill()

        async def finished() -> bool:
            return await _finished(redis, turn.turn_id)

        await until(finished, "B to finish the turn", RECOVERY_BOUND + 60, procs)
        closed = await approvals.get(pending.approval_id)
        assert closed is not None and closed.status == "rejected"
        assert closed.decided_by == "facio"  # nothing waits for it any more
        assert await _approve(pool, pending.approval_id) is DecideOutcome.ALREADY_DECIDED
        answer = [
            e["content"]
            for e in await outbox_events(redis)
            if e["type"] == "response" and e["turn_id"] == turn.turn_id
        ]
        assert "interrupted" in answer[-1] and "may or may not" in answer[-1]
        assert not marker.exists()  # the shell command never ran, and was not run again
        assert b.alive
        await pool.aclose()
        await redis.aclose()
