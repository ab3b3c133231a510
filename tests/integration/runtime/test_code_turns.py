"""Code actions through the distributed runtime: a real arq worker, Redis and kernel.

An approval raised inside running code (here a shell escape) can only be
answered to the process running that kernel: the worker holds it, even with
approvalHold 0, and never parks the turn.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from core.config import FacioConfig, parse_config
from core.paths import session_name
from tests.integration.code.support import KERNEL_TIMEOUT
from tests.integration.runtime.support import Background, inbound, outbox, send, wait_for
from workers import keys
from workers.approval_record import ABANDONED_BY, DecideOutcome, Decision
from workers.approvals import ApprovalStore
from workers.decisions import decide
from workers.inbox import request_stop
from workers.queue import ArqJobQueue
from workers.worker import connect

SESSION = "api:test"


def code_config(tmp_path: Path) -> FacioConfig:
    data = {
        "workspace": "ws",
        "agent": {"model": "scripted:code", "approvalHold": 0, "approvalTimeout": 120},
        "bots": {
            "main": {
                "model": "scripted:code",
                "tools": ["ipybox_execute_ipython_cell"],
                "allow": ["ipybox_execute_ipython_cell"],  # only the shell escape asks
            }
        },
        "code": {"poolSize": 0, "kernelInitTimeout": KERNEL_TIMEOUT},
    }
    return parse_config(data, base_dir=tmp_path, env={})


async def _responses(redis: Redis) -> list[str]:
    return [e["content"] for e in await outbox(redis) if e["type"] == "response"]


async def test_an_in_code_approval_is_held_not_parked_and_a_click_resumes_it(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    async with Background(code_config(tmp_path), redis_url):
        await send(pool, inbound("run x = 41\n!echo from-shell"))
        (request,) = await wait_for(redis, "approval_request", timeout=KERNEL_TIMEOUT)
        assert (request["tool_name"], request["tool_args"]) == (
            "shell",
            {"command": "echo from-shell"},
        )
        record = await ApprovalStore(redis).get(request["approval_id"])
        assert record is not None and record.parkable is False
        await asyncio.sleep(1.0)  # a parkable approval with approvalHold 0 parks at once
        assert not await redis.exists(keys.parked(SESSION))
        assert await redis.exists(keys.lease(SESSION))  # the worker still holds the turn
        result = await decide(
            ApprovalStore(pool), ArqJobQueue(pool), request["approval_id"], Decision.APPROVE, "u1"
        )  # type: ignore[arg-type]
        assert result.outcome is DecideOutcome.DECIDED
        await wait_for(redis, "turn_finished", timeout=30)
    outputs = [e for e in await outbox(redis) if e["type"] == "code_execution_output"]
    assert [o["text"] for o in outputs] == ["from-shell"]
    assert (await _responses(redis))[-1] == "Result:\nfrom-shell"
    await pool.aclose()


async def test_stop_with_an_in_code_approval_pending_rejects_it_and_the_kernel_goes_on(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    pool = await connect(redis_url)
    async with Background(code_config(tmp_path), redis_url):
        await send(pool, inbound("run y = 41\n!echo ran > stopped.txt"))
        (request,) = await wait_for(redis, "approval_request", timeout=KERNEL_TIMEOUT)
        await request_stop(pool, SESSION, ArqJobQueue(pool))
        (finished,) = await wait_for(redis, "turn_finished", timeout=30)
        assert finished["cancelled"] is True
        record = await ApprovalStore(redis).get(request["approval_id"])
        assert record is not None
        assert (record.status, record.decided_by) == ("rejected", ABANDONED_BY)
        await send(pool, inbound("run print(y + 1)"))  # the same kernel, still usable
        await wait_for(redis, "turn_finished", count=2, timeout=60)
    assert (await _responses(redis))[-1] == "Result:\n42"
    folder = tmp_path / "ws" / "sessions" / session_name(SESSION)
    assert folder.is_dir() and not (folder / "stopped.txt").exists()
    await pool.aclose()
