"""Approvals over the API: list, decide as the operator, and every refusal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from tests.integration.api.support import NOTE, api_config, note_file, post_message, running
from tests.integration.runtime.support import run_burst, wait_for
from workers import keys

APPROVALS = "/api/v1/approvals"


async def _pending(client: aiohttp.ClientSession, query: str = "") -> list[dict[str, Any]]:
    async with client.get(APPROVALS + query) as response:
        assert response.status == 200
        body: dict[str, list[dict[str, Any]]] = await response.json()
        return body["approvals"]


async def _decide(
    client: aiohttp.ClientSession, approval_id: str, decision: object
) -> tuple[int, dict[str, Any]]:
    async with client.post(f"{APPROVALS}/{approval_id}", json={"decision": decision}) as response:
        return response.status, await response.json()


async def test_the_operator_lists_and_approves_and_the_parked_turn_finishes(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        posted = await post_message(client, NOTE)
        await run_burst(config, redis_url)  # parks on the approval
        (approval,) = await _pending(client)
        assert approval["tool_name"] == "save_note"
        assert approval["tool_args"] == {"text": "to buy milk"}
        assert approval["session_key"] == "api:t"
        assert approval["turn_id"] == posted["turn_id"]
        assert approval["status"] == "pending"
        assert approval["expires_at"] > approval["created_at"]
        assert await _pending(client, "?status=pending&session=api:t") == [approval]
        assert await _pending(client, "?session=api:other") == []
        async with client.get("/api/v1/sessions/api:t") as response:
            assert (await response.json())["pending_approvals"] == [approval]
        async with client.get(APPROVALS + "?status=approved") as response:
            assert response.status == 422

        approval_id = approval["approval_id"]
        status, record = await _decide(client, approval_id, " Approve ")
        assert status == 200, record
        assert record["status"] == "approved" and record["decision"] == "approve"
        assert record["decided_by"] == "api"
        assert await _pending(client) == []

        status, body = await _decide(client, approval_id, "reject")
        assert status == 409
        assert body["record"]["decision"] == "approve"

        await run_burst(config, redis_url)  # any worker resumes the parked turn
        await wait_for(redis, "turn_finished")
        assert not await redis.exists(keys.parked("api:t"))
    assert "to buy milk" in note_file(tmp_path, "api:t").read_text()


async def test_unknown_ids_and_invalid_decisions_change_nothing(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0)
    async with running(config, redis_url) as (_, client):
        await post_message(client, NOTE)
        await run_burst(config, redis_url)
        (approval,) = await _pending(client)
        for bad in ("maybe", "", 1, None, ["approve"]):
            status, body = await _decide(client, approval["approval_id"], bad)
            assert status == 422, bad
            assert "invalid decision" in body["error"]
        async with client.post(f"{APPROVALS}/{approval['approval_id']}", data=b"{") as response:
            assert response.status == 422
        for unknown in ("no-such-id", "not%20valid"):
            status, body = await _decide(client, unknown, "approve")
            assert status == 404
            assert body["error"] == "unknown approval"
        assert await _pending(client) == [approval]


async def test_an_expired_approval_is_410(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    config = api_config(tmp_path, approvalHold=0, approvalTimeout=1)
    async with running(config, redis_url) as (_, client):
        await post_message(client, NOTE)
        await run_burst(config, redis_url)
        (approval,) = await _pending(client)
        await asyncio.sleep(1.1)
        assert await _pending(client) == []  # past due: no longer offered
        status, body = await _decide(client, approval["approval_id"], "approve")
        assert status == 410
        assert body["record"]["status"] == "expired"
        status, body = await _decide(client, approval["approval_id"], "approve")
        assert status == 410
    assert not note_file(tmp_path, "api:t").exists()


async def test_an_approval_expired_by_a_click_still_ends_the_parked_turn(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    config = api_config(tmp_path, approvalHold=0, approvalTimeout=1)
    async with running(config, redis_url) as (_, client):
        await post_message(client, NOTE)
        await run_burst(config, redis_url)
        (approval,) = await _pending(client)
        await asyncio.sleep(1.1)
        status, _ = await _decide(client, approval["approval_id"], "approve")
        assert status == 410
        await run_burst(config, redis_url)
        await wait_for(redis, "turn_finished", timeout=2.0)
